// Reference-table lookups on the per-event path (docs/tables.md), on one core:
// a threshold rule with one table() lookup per event over a table of 100k rows
// in LMDB (the daemon's TableView: one read snapshot per batch of 1024 events,
// parsed rows cached), against the same rule with the threshold written as a
// literal, in the same run, through the same PartitionEngine. Every row's
// rated_temp is the literal's value, so both rules raise the same alerts (checked).
// Events are parsed before timing (a pool, one per device, times rewritten in place).
// Two event mixes: keys uniform over all 100k rows (every lookup and every event a
// likely cache miss: the target applies here), and a hot set of 1k devices sending.
// Usage: bench_tables [events]   (default 2000000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "daemon/table_view.h"
#include "patterns/engine.h"
#include "rules/rule_loader.h"

using namespace vigil;

namespace {

constexpr int kRows = 100'000;
constexpr size_t kBatch = 1024;

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
            e->payload = "{\"device\":\"" + e->key + "\",\"temp\":" + std::to_string(20 + next() % 100) + "}";
            e->doc.parse(e->payload);
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
    auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n; ++i) {
        engine.push(st.at(i));
        if (view && i % kBatch == kBatch - 1) view->end_batch();
    }
    engine.flush();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    alerts = sink.alerts;
    return static_cast<double>(n) / secs;
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
        rows.push_back({"devices", "dev" + std::to_string(k),
                        "{\"model\":\"P" + std::to_string(k % 50) + "\",\"rated_temp\":90,\"site\":\"line" +
                            std::to_string(k % 7) + "\"}",
                        false, 0});
    if (Status st = store->apply(rows, 1); !st.ok) {
        std::fprintf(stderr, "bench_tables: %s\n", st.error.c_str());
        return 2;
    }
    auto plain = rules("temp > 90");
    auto lookup = rules("temp > table(\"devices\", device).rated_temp");
    uint64_t a_plain = 0, a_lookup = 0, a_hot_plain = 0, a_hot_lookup = 0;
    run(plain, n / 10, kRows, nullptr, a_plain);  // warm-up
    double base = run(plain, n, kRows, nullptr, a_plain);
    TableView view(*store);
    double with = run(lookup, n, kRows, &view, a_lookup);
    double hot_base = run(plain, n, 1000, nullptr, a_hot_plain);
    TableView hot_view(*store);
    double hot_with = run(lookup, n, 1000, &hot_view, a_hot_lookup);
    double ratio = with / base;
    std::printf("%-52s %14s %14s %8s\n", "name", "events/s", "target", "ratio");
    std::printf("%-52s %14.0f %14s %8s\n", "baseline: temp > 90, keys over 100k devices", base, "-", "1.00");
    std::printf("%-52s %14.0f %14.0f %8.3f\n", "temp > table(devices, device).rated_temp, 100k", with, 0.7 * base,
                ratio);
    std::printf("%-52s %14.0f %14s %8s\n", "baseline: temp > 90, 1k devices sending", hot_base, "-", "1.00");
    std::printf("%-52s %14.0f %14.0f %8.3f\n", "temp > table(devices, device).rated_temp, 1k", hot_with,
                0.7 * hot_base, hot_with / hot_base);
    std::printf("(%zu events per run, %d rows; alerts %llu / %llu, %llu / %llu; LMDB reads %llu for %llu lookups)\n", n,
                kRows, static_cast<unsigned long long>(a_plain), static_cast<unsigned long long>(a_lookup),
                static_cast<unsigned long long>(a_hot_plain), static_cast<unsigned long long>(a_hot_lookup),
                static_cast<unsigned long long>(view.reads()), static_cast<unsigned long long>(view.lookups()));
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(tmpl, ec);
    if (a_plain != a_lookup || a_hot_plain != a_hot_lookup) {
        std::fprintf(stderr, "bench_tables: the two rules raised different alerts\n");
        return 1;
    }
    return ratio >= 0.7 ? 0 : 1;
}
