// bench_replay: `vigil replay` over the stored log (issue targets: 10M stored
// events, a pack of 10 rules (5 pattern, 5 window): >= 2M events/s on one worker,
// >= 3.5M events/s with 2 workers). Baseline in the same run: the raw LMDB
// time-range scan of the same data (no parsing, no rules).
//
// A worker is one engine thread. By default each partition's records are read and
// parsed by a reader thread beside it when the machine has a core for each (2 x
// workers <= cores; LogReplayOptions::read_thread); the table shows the other choice
// too. "no rules, 1 thread" is the read path alone on one core.
//
//   bench_replay [--events N] [--partitions P] [--only K]
//   (default 10000000, 4; data in a temp folder, removed after; --only K runs only
//   the K-th 10-rule replay of the table, 0..3, for profiling)
//
// Prints a table: name, figure, target, figure/target, share of the raw scan rate;
// exit 1 when a target is missed.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "bench/log_fill.h"
#include "bench/workload.h"
#include "daemon/replay_log.h"
#include "rules/rule_loader.h"
#include "storage/log.h"

using namespace vigil;
using SteadyClock = std::chrono::steady_clock;

namespace {

double seconds_since(SteadyClock::time_point t0) {
    return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// CPU seconds of the whole process: on a shared machine wall time mostly measures
// the neighbours, so the table also shows events per CPU second.
double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Five patterns and five windows over the sensor workload (bench/workload.h):
// 1000 pumps, four metrics, values uniform in [40, 100).
const char* kRules = R"(
rules:
  - {rule: p-hot3, stream: sensors, key: device, where: metric == "temperature",
     pattern: [{name: hot, where: value > 99, times: 3}], within: 5m, skip: past_last_event}
  - {rule: p-vib-then-temp, stream: sensors, key: device,
     pattern: [{name: v, where: metric == "vibration" && value > 98},
               {name: t, where: metric == "temperature" && value > 98}], within: 1m, skip: past_last_event}
  - {rule: p-pressure-swing, stream: sensors, key: device, where: metric == "pressure",
     pattern: [{name: low, where: value < 41}, {name: high, where: value > 99}], within: 2m, skip: past_last_event}
  - {rule: p-heartbeat-spike, stream: sensors, key: device, where: metric == "heartbeat",
     pattern: [{name: s, where: value > 99.5, times: 2}], within: 10m, skip: past_last_event}
  - {rule: p-rise, stream: sensors, key: device, where: metric == "temperature",
     pattern: [{name: warm, where: value > 95}, {name: peak, where: value > 99.8}], within: 3m, skip: past_last_event}
  - {rule: w-avg-1m, stream: sensors, key: device, where: metric == "temperature",
     window: {type: tumbling, size: 1m}, aggregate: {avg_t: avg(value), n: count()}, having: avg_t > 95}
  - {rule: w-count-5m, stream: sensors, key: device, window: {type: hopping, size: 5m, advance: 1m},
     aggregate: {n: count()}, having: n > 45}
  - {rule: w-max-10s, stream: sensors, key: device, window: {type: tumbling, size: 10m},
     aggregate: {hi: max(value), lo: min(value)}, having: hi - lo < 20}
  - {rule: w-sum-1h, stream: sensors, key: device, window: {type: tumbling, size: 1h},
     aggregate: {s: sum(value)}, having: s > 1000000}
  - {rule: w-pressure-min, stream: sensors, key: device, where: metric == "pressure",
     window: {type: hopping, size: 2m, advance: 1m}, aggregate: {lo: min(value)}, having: lo < 40.1}
)";

struct Row {
    std::string name;
    double figure, target, baseline;
};

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    uint64_t events = 10'000'000;
    uint32_t partitions = 4;
    int only = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--events")) events = std::strtoull(argv[i + 1], nullptr, 10);
        else if (!std::strcmp(argv[i], "--partitions")) partitions = static_cast<uint32_t>(std::atoi(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--only")) only = std::atoi(argv[i + 1]);
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-bench-replay-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return 2;

    StreamSpec spec;
    spec.name = "sensors";
    FieldPath key;
    FieldPath::parse("device", key, nullptr);
    spec.key.push_back(key);
    Diagnostics diags;
    LoadedRules loaded = load_rules_text(kRules, "bench-rules.yaml", {spec}, diags);
    if (!loaded.rules) return std::fprintf(stderr, "%s", diags.to_string().c_str()), 2;

    LogOptions o;
    o.dir = tmpl + "/data";
    o.partitions = partitions;
    o.map_size = 1ULL << 30;
    std::vector<Row> rows;
    int rc = 0;
    bench::WorkloadOptions w;
    w.events = 0;
    {
        // Generation: chunks of the deterministic sensor workload, appended in batches.
        std::string err;
        auto log = EventLog::open(o, &err);
        if (!log) return std::fprintf(stderr, "%s\n", err.c_str()), 2;
        auto t0 = SteadyClock::now();
        const uint64_t kChunk = 100'000;
        for (uint64_t at = 0; at < events; at += kChunk) {
            w.events = std::min(kChunk, events - at);
            w.seed = 42 + at;
            w.start_ms = 1767225600000 + static_cast<int64_t>(at) * w.step_ms;
            if (!bench::append_sensor_lines(*log, bench::sensor_events(w))) return 3;
        }
        std::printf("generated %llu events in %.1f s (%u partitions)\n", static_cast<unsigned long long>(events),
                    seconds_since(t0), partitions);
    }
    {
        LogOptions ro = o;
        ro.read_only = true;
        std::string err;
        auto log = EventLog::open(ro, &err);
        if (!log) return std::fprintf(stderr, "%s\n", err.c_str()), 2;

        // Baseline: the raw time-range scan of the same records (one thread).
        auto t0 = SteadyClock::now();
        double c0 = cpu_seconds();
        uint64_t scanned = 0, bytes = 0;
        for (uint32_t p = 0; p < log->partitions(); ++p)
            log->scan_time(p, INT64_MIN, INT64_MAX, 0,
                           [&](const RecordView& r) { return ++scanned, bytes += r.payload.size(), true; });
        double scan_rate = static_cast<double>(scanned) / seconds_since(t0);
        if (scanned != events) std::fprintf(stderr, "scan saw %llu records\n", static_cast<unsigned long long>(scanned)), rc = 1;
        double scan_cpu = static_cast<double>(scanned) / (cpu_seconds() - c0);
        rows.push_back({"raw LMDB time-range scan (baseline)", scan_rate, 0, scan_rate});
        rows.push_back({"  same, per CPU second", scan_cpu, 0, scan_cpu});

        if (only < 0) {
            // The replay pipeline without rules: read, copy, parse JSON, engine routing.
            LogReplayOptions ro0;
            ro0.keep_json = false;
            ro0.read_thread = false;  // the read path's cost on one thread
            LogReplayResult res;
            double c1 = cpu_seconds();
            if (!run_log_replay(*log, std::make_shared<RuleSet>(), {spec}, ro0, res, &err))
                return std::fprintf(stderr, "%s\n", err.c_str()), 3;
            rows.push_back({"replay, no rules, 1 thread", static_cast<double>(res.events) / res.seconds, 0, scan_rate});
            rows.push_back({"  same, per CPU second", static_cast<double>(res.events) / (cpu_seconds() - c1), 0,
                            scan_cpu});
        }
        // The target rows use the default (reader threads when there is a core for
        // each); the other choice is shown beside them.
        struct Config {
            uint32_t workers;
            std::optional<bool> read_thread;
        };
        const bool auto_1 = 2 <= std::thread::hardware_concurrency(), auto_2 = 4 <= std::thread::hardware_concurrency();
        int k = -1;
        for (Config c : {Config{1, !auto_1}, Config{1, {}}, Config{2, !auto_2}, Config{2, {}}}) {
            if (++k != only && only >= 0) continue;
            const uint32_t workers = c.workers;
            LogReplayOptions ro2;
            ro2.workers = workers;
            ro2.read_thread = c.read_thread;
            ro2.keep_json = false;
            LogReplayResult res;
            double c1 = cpu_seconds();
            if (!run_log_replay(*log, loaded.rules, {spec}, ro2, res, &err))
                return std::fprintf(stderr, "%s\n", err.c_str()), 3;
            if (res.events != events) rc = 1;
            double rate = static_cast<double>(res.events) / res.seconds;
            const std::string how = res.read_threads ? "reader threads" : "in-line read";
            if (c.read_thread) {
                rows.push_back({"replay, 10 rules, " + std::to_string(workers) + " worker(s), " + how, rate, 0,
                                scan_rate});
            } else {
                rows.push_back({"replay, 10 rules, " + std::to_string(workers) + " worker(s) (default: " + how + ")",
                                rate, workers == 1 ? 2e6 : 3.5e6, scan_rate});
            }
            // Per CPU second of one thread: what one worker does when it has a core.
            const double n = static_cast<double>(res.events);
            rows.push_back({"  same, per CPU second", n / (cpu_seconds() - c1), 0, scan_cpu});
            // Per CPU second of the engine threads, and of the readers: with reader
            // threads one worker goes as fast as the slower of the two.
            rows.push_back({"  engine threads, per CPU second", n / res.engine_cpu_seconds, 0, scan_cpu});
            if (res.read_threads)
                rows.push_back({"  reader threads, per CPU second", n / res.reader_cpu_seconds, 0, scan_cpu});
            std::printf("  %u worker(s), %s: %llu events, %zu alerts, %.2f s", workers, how.c_str(),
                        static_cast<unsigned long long>(res.events), res.briefs.size(), res.seconds);
            if (res.read_threads)
                std::printf(" (conditions read ahead in %llu of %llu batches)",
                            static_cast<unsigned long long>(res.condition_batches),
                            static_cast<unsigned long long>(res.batches));
            std::printf("\n");
            if (workers == 1 && !c.read_thread)
                for (const auto& s : res.rule_stats)
                    std::printf("    %-20s events %llu, matches %llu\n", s.rule.c_str(),
                                static_cast<unsigned long long>(s.events),
                                static_cast<unsigned long long>(s.counters.matches));
        }
    }
    std::error_code ec;
    std::filesystem::remove_all(tmpl, ec);

    std::printf("%-58s %14s %12s %8s %10s\n", "benchmark", "events/s", "target", "ratio", "vs scan");
    for (const auto& r : rows) {
        if (r.target > 0) {
            std::printf("%-58s %14.0f %12.0f %8.2f %10.2f\n", r.name.c_str(), r.figure, r.target, r.figure / r.target,
                        r.figure / r.baseline);
            if (r.figure < r.target) rc = 1;
        } else {
            std::printf("%-58s %14.0f %12s %8s %10.2f\n", r.name.c_str(), r.figure, "-", "-", r.figure / r.baseline);
        }
    }
    return rc;
}
