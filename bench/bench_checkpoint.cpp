// The cost of checkpointing rule state (docs/state.md): an engine worker over a
// pre-filled log (200k sensor events, 10k keys, 2 partitions) running a pattern
// and two windows, with keyed state in every checkpoint versus without (offsets
// and alerts only), in the same run. Each mode runs on its own copy of the same
// log, five times, interleaved; the best run of each counts.
//   checkpoint on    events/s with WorkerOptions::checkpoint_state and the default
//                    checkpoint frequency (the daemon's mode)
//   ... frequent     the same with checkpoints every 10k events / 200 ms (for information)
//     baseline       events/s with checkpoint_state = false
// Target: on is at most 15% slower than off (ratio off/on <= 1.15).
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "bench/log_fill.h"
#include "bench/workload.h"
#include "daemon/engine_worker.h"
#include "rules/diagnostics.h"
#include "rules/rule_loader.h"
#include "storage/log.h"

using namespace vigil;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kPartitions = 2;
constexpr uint64_t kEvents = 200'000;
constexpr uint64_t kKeys = 10'000;
constexpr int kReps = 5;

const char* kRules = R"(rules:
  - rule: overheat
    stream: sensors
    key: device
    where: metric == "temperature"
    pattern:
      - name: hot
        where: value > 80
        times: 2
      - name: hotter
        where: value > 95
    within: 10m
  - rule: avg-per-5m
    stream: sensors
    key: device
    window: { type: tumbling, size: 5m }
    aggregate:
      n: count()
      avg_v: avg(value)
      mx: max(value)
    having: n >= 6 && avg_v > 85
  - rule: vibration-sessions
    stream: sensors
    key: device
    where: metric == "vibration"
    window: { type: session, gap: 2m }
    aggregate:
      n: count()
    having: n >= 4
)";

struct Result {
    double seconds = 0;
    uint64_t events = 0, alerts = 0, state_keys = 0;
};

Result run(const std::string& dir, const RuleSetPtr& rules, const StreamSpec& spec, bool with_state,
           bool frequent) {
    LogOptions o;
    o.dir = dir;
    o.partitions = kPartitions;
    std::string err;
    auto log = EventLog::open(o, &err);
    if (!log) {
        std::fprintf(stderr, "%s\n", err.c_str());
        std::exit(2);
    }
    SystemClock clock;
    WorkerOptions wo;
    wo.checkpoint_state = with_state;
    if (frequent) {
        wo.checkpoint_events = 10'000;
        wo.checkpoint_interval_ms = 200;
    }
    std::vector<uint32_t> parts;
    for (uint32_t p = 0; p < kPartitions; ++p) parts.push_back(p);
    auto t0 = std::chrono::steady_clock::now();
    {
        EngineWorker worker(*log, parts, rules, {spec}, clock, wo);
        worker.start();
        worker.stop();  // processes everything in the log, commits, stops
        WorkerStats st = worker.stats();
        Result r;
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        r.events = st.events;
        r.alerts = st.alerts;
        for (uint32_t p = 0; p < kPartitions; ++p)
            for (const auto& rule : rules->rules)
                log->state_scan(rule->id, p, [&](std::string_view, std::string_view) {
                    ++r.state_keys;
                    return true;
                });
        return r;
    }
}

}  // namespace

int main() {
    spdlog::set_level(spdlog::level::warn);
    std::string tmpl = (fs::temp_directory_path() / "vigil-bench-checkpoint-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return 2;
    const fs::path root = tmpl;

    StreamSpec spec;
    spec.name = "sensors";
    spec.max_out_of_order_ms = 2000;
    spec.idle_timeout_ms = 3'600'000;
    FieldPath key;
    FieldPath::parse("device", key, nullptr);
    spec.key.push_back(key);
    Diagnostics diags;
    LoadedRules loaded = load_rules_text(kRules, "bench-checkpoint.yaml", {spec}, diags);
    if (!loaded.rules) return std::fprintf(stderr, "%s", diags.to_string().c_str()), 2;

    {
        LogOptions o;
        o.dir = (root / "seed").string();
        o.partitions = kPartitions;
        std::string err;
        auto log = EventLog::open(o, &err);
        if (!log) return std::fprintf(stderr, "%s\n", err.c_str()), 2;
        bench::WorkloadOptions w;
        w.events = kEvents;
        w.keys = kKeys;
        w.step_ms = 50;  // 20 events per key over 10k s of event time
        w.max_disorder_ms = 1000;
        if (!bench::append_sensor_lines(*log, bench::sensor_events(w))) return 3;
    }

    // Modes: 0 off, 1 on (defaults), 2 on with checkpoints every 10k events / 200 ms.
    Result best[3];
    for (int rep = 0; rep < kReps; ++rep)
        for (int mode = 0; mode < 3; ++mode) {
            fs::path dir = root / ("run-" + std::to_string(rep) + "-" + std::to_string(mode));
            fs::copy(root / "seed", dir, fs::copy_options::recursive);
            Result r = run(dir.string(), loaded.rules, spec, mode > 0, mode == 2);
            fs::remove_all(dir);
            if (getenv("BENCH_VERBOSE")) std::fprintf(stderr, "mode %d %.3f s\n", mode, r.seconds);
            if (best[mode].seconds == 0 || r.seconds < best[mode].seconds) best[mode] = r;
        }
    fs::remove_all(root);

    double rate[3];
    for (int m = 0; m < 3; ++m) rate[m] = best[m].events / best[m].seconds;
    double ratio = rate[0] / rate[1], ratio_frequent = rate[0] / rate[2];
    bool ok = ratio <= 1.15;
    for (const auto& b : best) ok = ok && b.events == kEvents && b.alerts == best[0].alerts;
    std::printf("%-56s %12s %10s %8s\n", "checkpointed state (200k events, 10k keys, 3 rules)", "figure", "target",
                "ratio");
    std::printf("%-56s %10.0f/s %10s %7.2fx\n", "checkpoint on, defaults (100k events / 1 s)", rate[1], "<=1.15x",
                ratio);
    std::printf("%-56s %10.0f/s %10s %7.2fx\n", "checkpoint on, every 10k events / 200 ms (info)", rate[2], "-",
                ratio_frequent);
    std::printf("%-56s %10.0f/s %10s %8s\n", "  baseline: checkpoint off (offsets + alerts)", rate[0], "-", "-");
    std::printf("%-56s %12llu %10s %8s\n", "  alerts (equal in every mode)",
                static_cast<unsigned long long>(best[1].alerts), "-", "-");
    std::printf("%-56s %12llu %10s %8s\n", "  keyed states stored at the end",
                static_cast<unsigned long long>(best[1].state_keys), "-", "-");
    std::printf("%s\n", ok ? "OK" : "FAILED: a target was missed");
    return ok ? 0 : 1;
}
