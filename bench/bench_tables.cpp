// Reference-table lookups on the per-event path (docs/tables.md), on one core:
// a threshold rule with one table() lookup per event over a table of 100k rows
// in LMDB (the daemon's TableView: one read snapshot per batch of 1024 events,
// field answers cached), against the same rule with the threshold written as a
// literal, in the same run, through the same PartitionEngine. Every row's
// rated_temp is the literal's value, so both rules raise the same alerts (checked).
// Keys are uniform over all 100k devices: every lookup a likely cache miss. Each
// timed run follows a warm-up run (the rows read from LMDB and cached once, as in a
// daemon that has been running), so the figures are the steady state.
// Two ways of feeding events:
// - as the daemon and replay do (the target applies here): each event a JSON line
//   parsed into a recycled Event (extract_event, EventPool), then given to the
//   engine through a Lookahead (patterns/engine.h: its table slot prefetched 8
//   events before it is evaluated), drained at each batch's end;
// - engine only: one parsed Event per device, picked at random with its time
//   rewritten, so nothing but the engine is timed (100k devices, and a hot set of 1k);
//   pushed directly (an event may be picked again while a lookahead would still
//   hold it), so these rows pay each lookup's cache miss in full.
// One more JSON-lines run has a row upserted after every batch (the write untimed,
// the view's refresh of that row timed), as a table fed over MQTT would be.
// Rates are in thread CPU time. The target pair (plain and lookup over JSON lines)
// runs in 11 alternating rounds of a quarter of the events each; its figures and
// ratio are the medians.
// Usage: bench_tables [events]   (default 2000000). Exit 1 when the target is missed.
//        bench_tables EVENTS lines-only   the JSON-lines run with the lookup alone, for perf record.
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "daemon/table_view.h"
#include "patterns/engine.h"
#include "rules/event_pool.h"
#include "rules/rule_loader.h"

using namespace vigil;

namespace {

constexpr int kRows = 100'000;

// CPU time of this thread: the machine may be shared, and the target is per core.
double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}
constexpr size_t kBatch = 1024;
constexpr int kRounds = 11;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

class CountingSink : public AlertSink {
public:
    void emit(Alert&&) override { ++alerts; }
    uint64_t alerts = 0;
};

RuleSetPtr rules(const std::string& where) {
    std::string yaml = "rule: hot\nstream: sensors\nkey: device\npattern:\n  - name: r\n    where: " + where + "\n";
    Diagnostics diags;
    StreamSpec s;
    s.name = "sensors";
    LoadedRules l = load_rules_text(yaml, "bench.yaml", {s}, diags);
    if (!l.rules) {
        std::fprintf(stderr, "bench_tables: %s", diags.to_string().c_str());
        std::exit(2);
    }
    return l.rules;
}

StreamSpec stream() {
    StreamSpec s;
    s.name = "sensors";
    FieldPath p;
    FieldPath::parse("device", p, nullptr);
    s.key.push_back(p);
    s.max_out_of_order_ms = 0;
    s.idle_timeout_ms = 0;
    return s;
}

// One parsed event per device; picked at random, time and offset rewritten.
class Stream {
public:
    explicit Stream(size_t active) : active_(active) {
        for (int k = 0; k < kRows; ++k) {
            auto e = std::make_shared<Event>();
            e->key = "dev" + std::to_string(k);
            e->stream = "sensors";
            e->doc.parse("{\"device\":\"" + e->key + "\",\"temp\":" + std::to_string(20 + next() % 100) + "}");
            pool_.push_back(e);
            view_.push_back(e);
        }
    }
    const EventPtr& at(size_t i) {
        size_t k = next() % active_;
        Event& e = *pool_[k];
        e.time = static_cast<int64_t>(i);
        e.offset = i + 1;
        return view_[k];
    }

private:
    uint64_t next() {
        x_ ^= x_ << 13;
        x_ ^= x_ >> 7;
        x_ ^= x_ << 17;
        return x_;
    }
    uint64_t x_ = 88172645463325252ull;
    size_t active_;
    std::vector<std::shared_ptr<Event>> pool_;
    std::vector<EventPtr> view_;
};

double run(const RuleSetPtr& set, size_t n, size_t active, TableView* view, uint64_t& alerts) {
    ManualClock clock;
    CountingSink sink;
    PartitionEngine engine(set, {stream()}, clock, sink);
    Stream st(active);
    TableScope scope(view);
    double t0 = cpu_seconds();
    for (size_t i = 0; i < n; ++i) {
        engine.push(st.at(i));
        if (view && i % kBatch == kBatch - 1) view->end_batch();
    }
    engine.flush();
    double secs = cpu_seconds() - t0;
    alerts = sink.alerts;
    return static_cast<double>(n) / secs;
}

std::string row_json(int k) {
    return "{\"model\":\"P" + std::to_string(k % 50) + "\",\"rated_temp\":90,\"site\":\"line" + std::to_string(k % 7) +
           "\"}";
}

// n JSON lines of random devices (of kRows) in one buffer, as the log would hold them.
struct Lines {
    std::string text;
    std::vector<std::pair<uint32_t, uint32_t>> spans;  // offset, length
};

Lines make_lines(size_t n) {
    Lines l;
    uint64_t x = 2463534242ull;
    for (size_t i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        auto at = static_cast<uint32_t>(l.text.size());
        l.text += "{\"device\":\"dev" + std::to_string(x % kRows) + "\",\"temp\":" + std::to_string(20 + (x >> 20) % 100) +
                  ",\"ts\":" + std::to_string(i) + "}";
        l.spans.emplace_back(at, static_cast<uint32_t>(l.text.size()) - at);
    }
    return l;
}

// With `store`: after every batch one row is upserted (same content, a new version),
// as a feed over MQTT would; the write itself is not timed, the view's refresh is.
double run_lines(const RuleSetPtr& set, const Lines& lines, TableView* view, uint64_t& alerts,
                 TableStore* store = nullptr) {
    ManualClock clock;
    CountingSink sink;
    StreamSpec spec = stream();
    FieldPath::parse("ts", spec.time_field, nullptr);
    PartitionEngine engine(set, {spec}, clock, sink);
    EventPool pool;
    Lookahead ahead(engine);
    auto give = [&](EventPtr ev) { engine.push(std::move(ev)); };
    TableScope scope(view);
    double t0 = cpu_seconds(), untimed = 0;
    uint64_t offset = 0;
    for (auto [at, len] : lines.spans) {
        std::shared_ptr<Event> ev = pool.acquire();
        if (extract_event(spec, "", std::string_view(lines.text).substr(at, len), 0, *ev, nullptr) !=
            RejectReason::None)
            std::abort();
        ev->offset = ++offset;
        ahead.push(std::move(ev), give);
        if (view && offset % kBatch == 0) {
            ahead.drain(give);
            if (store) {
                double w0 = cpu_seconds();
                std::string key = "dev" + std::to_string(offset / kBatch % kRows);
                if (!store->apply({{"devices", key, row_json(offset / kBatch % kRows), false, 0}}, 0).ok) std::abort();
                untimed += cpu_seconds() - w0;
            }
            view->end_batch();
        }
    }
    ahead.drain(give);
    engine.flush();
    double secs = cpu_seconds() - t0 - untimed;
    alerts = sink.alerts;
    return static_cast<double>(lines.spans.size()) / secs;
}

}  // namespace

int main(int argc, char** argv) {
    size_t n = argc > 1 ? static_cast<size_t>(std::atol(argv[1])) : 2'000'000;
    std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-bench-tables-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return 2;
    std::string err;
    auto store = TableStore::open(tmpl, 256ULL << 20, false, &err);
    if (!store) {
        std::fprintf(stderr, "bench_tables: %s\n", err.c_str());
        return 2;
    }
    std::vector<TableWrite> rows;
    for (int k = 0; k < kRows; ++k)
        rows.push_back({"devices", "dev" + std::to_string(k), row_json(k), false, 0});
    if (Status st = store->apply(rows, 1); !st.ok) {
        std::fprintf(stderr, "bench_tables: %s\n", st.error.c_str());
        return 2;
    }
    auto plain = rules("temp > 90");
    auto lookup = rules("temp > table(\"devices\", device).rated_temp");
    if (argc > 2 && std::string(argv[2]) == "lines-only") {  // for perf record: [events] lines-only
        TableView v(*store);
        uint64_t a = 0;
        Lines l = make_lines(n);
        run_lines(lookup, l, &v, a);
        std::printf("%.0f ev/s\n", run_lines(lookup, l, &v, a));
        return 0;
    }
    uint64_t a_plain = 0, a_lookup = 0, a_hot_plain = 0, a_hot_lookup = 0, a_line_plain = 0, a_line_lookup = 0;
    Lines lines = make_lines(n / 4);
    run_lines(plain, lines, nullptr, a_line_plain);  // warm-up
    TableView line_view(*store);
    run_lines(lookup, lines, &line_view, a_line_lookup);  // warm-up: every row read and cached once
    // The target pair alternates over kRounds rounds, so noise from other tenants of
    // the machine falls on both; the figures are the medians.
    std::vector<double> bases, withs, ratios;
    for (int r = 0; r < kRounds; ++r) {
        bases.push_back(run_lines(plain, lines, nullptr, a_line_plain));
        withs.push_back(run_lines(lookup, lines, &line_view, a_line_lookup));
        ratios.push_back(withs.back() / bases.back());
    }
    double line_base = median(bases), line_with = median(withs), ratio = median(ratios);
    uint64_t a_updated = 0;
    TableView updated_view(*store);
    run_lines(lookup, lines, &updated_view, a_updated, store.get());
    double line_updated = run_lines(lookup, lines, &updated_view, a_updated, store.get());
    double base = run(plain, n, kRows, nullptr, a_plain);
    TableView view(*store);
    run(lookup, n, kRows, &view, a_lookup);
    double with = run(lookup, n, kRows, &view, a_lookup);
    double hot_base = run(plain, n, 1000, nullptr, a_hot_plain);
    TableView hot_view(*store);
    run(lookup, n / 10, 1000, &hot_view, a_hot_lookup);
    double hot_with = run(lookup, n, 1000, &hot_view, a_hot_lookup);
    std::printf("%-56s %14s %14s %8s\n", "name", "events/s", "target", "ratio");
    std::printf("%-56s %14.0f %14s %8s\n", "JSON lines, parse + engine: temp > 90", line_base, "-", "1.00");
    std::printf("%-56s %14.0f %14.0f %8.3f\n", "JSON lines, parse + engine: temp > table(...).rated_temp",
                line_with, 0.7 * line_base, ratio);
    std::printf("  (the two rows above: medians of %d alternating rounds; the rounds' ratios from %.3f to %.3f)\n",
                kRounds, *std::min_element(ratios.begin(), ratios.end()),
                *std::max_element(ratios.begin(), ratios.end()));
    std::printf("%-56s %14.0f %14s %8.3f\n", "JSON lines, same, one row updated per 1024 events", line_updated, "-",
                line_updated / line_base);
    std::printf("%-56s %14.0f %14s %8s\n", "engine only: temp > 90, 100k devices", base, "-", "1.00");
    std::printf("%-56s %14.0f %14s %8.3f\n", "engine only: temp > table(...).rated_temp, 100k", with, "-",
                with / base);
    std::printf("%-56s %14.0f %14s %8s\n", "engine only: temp > 90, 1k devices sending", hot_base, "-", "1.00");
    std::printf("%-56s %14.0f %14s %8.3f\n", "engine only: temp > table(...).rated_temp, 1k", hot_with, "-",
                hot_with / hot_base);
    std::printf("(%zu events per JSON-lines run, %zu per engine-only run, %d rows; alerts %llu / %llu, %llu / %llu, "
                "%llu / %llu; LMDB reads %llu for %llu lookups)\n",
                lines.spans.size(), n, kRows, static_cast<unsigned long long>(a_line_plain),
                static_cast<unsigned long long>(a_line_lookup),
                static_cast<unsigned long long>(a_plain), static_cast<unsigned long long>(a_lookup),
                static_cast<unsigned long long>(a_hot_plain), static_cast<unsigned long long>(a_hot_lookup),
                static_cast<unsigned long long>(line_view.reads()), static_cast<unsigned long long>(line_view.lookups()));
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(tmpl, ec);
    if (a_plain != a_lookup || a_hot_plain != a_hot_lookup || a_line_plain != a_line_lookup ||
        a_line_plain != a_updated) {
        std::fprintf(stderr, "bench_tables: the two rules raised different alerts\n");
        return 1;
    }
    return ratio >= 0.7 ? 0 : 1;
}
