// Pattern engine benchmark (issue workload): a 3-stage sequence with `within: 10m`
// over 10k keys, events as JSONL in memory, parse + engine on one core; and the
// memory a 2-stage pattern holds per key while it waits for its second event.
// Baseline measured in the same run: JSON parse only.
// Usage: bench_pattern [events]   (default 2,000,000). Exit 1 when a target is missed.
//        bench_pattern EVENTS engine-only [KEYS [MAX_OUT_OF_ORDER_MS]]   one engine run, for perf record.
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <malloc.h>
#include <unistd.h>

#include "patterns/engine.h"
#include "patterns/nfa.h"
#include "rules/event_pool.h"
#include "rules/expr.h"

using namespace vigil;

namespace {

// CPU time of this thread: the machine may be shared, and the target is per core.
double now_s() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

size_t rss_bytes() {
    long pages = 0, resident = 0;
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
    return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// Heap bytes in use (RSS alone misses memory that earlier frees left to reuse).
size_t heap_bytes() { return mallinfo2().uordblks + mallinfo2().hblkhd; }

ExprPtr compile(const std::string& text, const std::vector<std::string>& stages, int self) {
    ExprScope scope;
    scope.stages = stages;
    scope.self_stage = self;
    Diagnostics d;
    auto e = Expr::compile(text, scope, SourcePos{"bench", 1, 1}, d);
    if (!e) {
        std::fprintf(stderr, "%s", d.to_string().c_str());
        std::exit(2);
    }
    return e;
}

std::shared_ptr<Rule> sequence_rule(const std::vector<std::string>& types, int64_t within_ms) {
    auto r = std::make_shared<Rule>();
    r->id = "seq" + std::to_string(types.size());
    r->version = "00000001";
    r->stream = "tx";
    std::vector<std::string> names;
    for (const auto& t : types) names.push_back("s_" + t);
    for (size_t i = 0; i < types.size(); ++i) {
        StageSpec s;
        s.name = names[i];
        s.where = compile("type == \"" + types[i] + "\"", names, int(i));
        r->pattern.stages.push_back(s);
    }
    r->pattern.within_ms = within_ms;
    r->pattern.skip = SkipStrategy::PastLastEvent;
    return r;
}

StreamSpec tx_spec(int64_t max_out_of_order) {
    StreamSpec s;
    s.name = "tx";
    FieldPath k, t;
    FieldPath::parse("key", k, nullptr);
    FieldPath::parse("ts", t, nullptr);
    s.key.push_back(k);
    s.time_field = t;
    s.max_out_of_order_ms = max_out_of_order;
    return s;
}

// Events a, b, c cycling per key, 10k keys round robin, 10 ms apart.
std::vector<std::string> make_lines(size_t n, size_t keys) {
    std::vector<std::string> lines;
    lines.reserve(n);
    const char* types[] = {"a", "b", "c"};
    for (size_t i = 0; i < n; ++i) {
        size_t key = i % keys, round = i / keys;
        lines.push_back("{\"key\":\"card-" + std::to_string(key) + "\",\"type\":\"" + types[round % 3] +
                        "\",\"amount\":" + std::to_string(1 + (i * 7) % 500) + ".25,\"ts\":" +
                        std::to_string(1767225600000LL + int64_t(i) * 10) + "}");
    }
    return lines;
}

struct Row {
    std::string name, figure, target;
    double ratio;
    bool ok;
};

class CountingSink : public AlertSink {
public:
    void emit(Alert&&) override { n++; }
    uint64_t n = 0;
};

double run_engine(const std::vector<std::string>& lines, int64_t ooo, uint64_t& alerts) {
    auto set = std::make_shared<RuleSet>();
    set->rules.push_back(sequence_rule({"a", "b", "c"}, 10 * 60'000));
    ManualClock clock;
    CountingSink sink;
    StreamSpec spec = tx_spec(ooo);
    PartitionEngine engine(set, {spec}, clock, sink, &make_pattern_runtime);
    // Events come from an EventPool as in the daemon's engine worker and in replay
    // (daemon/engine_worker.cpp, daemon/replay_log.cpp): recycling them is part of
    // the path measured.
    EventPool pool;
    double t0 = now_s();
    uint64_t offset = 0;
    for (const auto& l : lines) {
        std::shared_ptr<Event> ev = pool.acquire();
        if (extract_event(spec, "", l, 0, *ev, nullptr) != RejectReason::None) std::abort();
        ev->offset = ++offset;
        engine.push(std::move(ev));
    }
    engine.flush();
    double dt = now_s() - t0;
    alerts = sink.n;
    return lines.size() / dt;
}

}  // namespace

int main(int argc, char** argv) {
    size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2'000'000;
    const size_t keys = 10'000;
    if (argc > 2 && std::string(argv[2]) == "engine-only") {  // for profiling: [events] engine-only [keys [ooo]]
        auto lines = make_lines(n, argc > 3 ? std::strtoull(argv[3], nullptr, 10) : keys);
        uint64_t alerts = 0;
        std::printf("%.0f ev/s\n", run_engine(lines, argc > 4 ? std::strtoll(argv[4], nullptr, 10) : 0, alerts));
        return 0;
    }
    auto lines = make_lines(n, keys);
    std::vector<Row> rows;

    // Baseline: parse only (what every event costs before any rule runs).
    double t0 = now_s();
    size_t nodes = 0;
    for (const auto& l : lines) {
        Event ev;
        ev.doc.parse(l);
        nodes += ev.doc.root().size();
    }
    double parse_rate = n / (now_s() - t0);
    if (nodes == 0) std::abort();
    rows.push_back({"json parse only (baseline)", std::to_string(int64_t(parse_rate)) + " ev/s", "-", 1.0, true});

    // Second baseline: building the Event the engine receives (parse, key, time, copy).
    {
        StreamSpec spec = tx_spec(0);
        double t1 = now_s();
        uint64_t sum = 0;
        for (const auto& l : lines) {
            auto ev = std::make_shared<Event>();
            extract_event(spec, "", l, 0, *ev, nullptr);
            sum += uint64_t(ev->time);
        }
        double r = n / (now_s() - t1);
        if (sum == 0) std::abort();
        rows.push_back({"extract_event into a shared Event", std::to_string(int64_t(r)) + " ev/s", "-",
                        r / parse_rate, true});
    }

    uint64_t alerts = 0;
    double rate = run_engine(lines, 0, alerts);
    rows.push_back({"3-stage within 10m, 10k keys, parse+engine", std::to_string(int64_t(rate)) + " ev/s",
                    ">= 2000000 ev/s", rate / parse_rate, rate >= 2e6});
    if (alerts != (n / keys / 3) * keys) std::fprintf(stderr, "unexpected alert count %llu\n", (unsigned long long)alerts);
    uint64_t alerts_ooo = 0;
    double rate_ooo = run_engine(lines, 5'000, alerts_ooo);
    rows.push_back({"same, max_out_of_order 5s (buffered)", std::to_string(int64_t(rate_ooo)) + " ev/s", "-",
                    rate_ooo / parse_rate, true});

    // The same with 100 keys: state stays in cache, which shows how much of the
    // 10k-key figure is memory traffic.
    {
        lines = make_lines(n, 100);
        uint64_t a = 0;
        double r = run_engine(lines, 0, a);
        rows.push_back({"same, 100 keys (state in cache)", std::to_string(int64_t(r)) + " ev/s", "-", r / parse_rate,
                        true});
        lines.clear();
        lines.shrink_to_fit();
    }

    // Memory: 100k keys waiting in a 2-stage pattern (first event seen), with
    // checkpoint tracking on as in the daemon and every key dirty (the worst case
    // between two checkpoints).
    {
        const size_t wait_keys = 100'000;
        auto rule = sequence_rule({"a", "b"}, 10 * 60'000);
        ManualClock clock;
        CountingSink sink;
        StreamSpec spec = tx_spec(0);
        std::vector<std::string> first;
        first.reserve(wait_keys);
        for (size_t k = 0; k < wait_keys; ++k)
            first.push_back("{\"key\":\"dev-" + std::to_string(k) + "\",\"type\":\"a\",\"ts\":" +
                            std::to_string(1767225600000LL + int64_t(k)) + "}");
        size_t rss0 = rss_bytes(), heap0 = heap_bytes();
        PatternRuntime rt(rule, clock);
        rt.track_changes(true);
        for (size_t k = 0; k < wait_keys; ++k) {
            auto ev = std::make_shared<Event>();
            extract_event(spec, "", first[k], 0, *ev, nullptr);
            rt.on_event(ev, sink);
        }
        size_t rss1 = rss_bytes(), heap1 = heap_bytes();
        double per_key = double(rt.state_bytes_without_events()) / rt.key_count();
        double with_events = double(rt.state_bytes()) / rt.key_count();
        double rss_per_key = double(rss1 - rss0) / wait_keys;
        double heap_per_key = double(heap1 - heap0) / wait_keys;
        rows.push_back({"2-stage waiting, tracked: state per key", std::to_string(int64_t(per_key)) + " B", "<= 200 B",
                        per_key / 200.0, per_key <= 200});
        rows.push_back({"  ... with the held event", std::to_string(int64_t(with_events)) + " B", "-",
                        with_events / 200.0, true});
        rows.push_back({"  ... heap in use per key (malloc)", std::to_string(int64_t(heap_per_key)) + " B", "-",
                        heap_per_key / 200.0, true});
        rows.push_back({"  ... RSS delta per key", std::to_string(int64_t(rss_per_key)) + " B", "-",
                        rss_per_key / 200.0, true});
    }

    bool all_ok = true;
    std::printf("%-46s %18s %18s %8s\n", "benchmark", "figure", "target", "ratio");
    for (const auto& r : rows) {
        std::printf("%-46s %18s %18s %8.2f%s\n", r.name.c_str(), r.figure.c_str(), r.target.c_str(), r.ratio,
                    r.ok ? "" : "  MISSED");
        all_ok = all_ok && r.ok;
    }
    std::printf("(%zu events, %zu keys; rates in thread CPU time; ratio: against the parse baseline, or "
                "figure/target for memory)\n", n, keys);
    return all_ok ? 0 : 1;
}
