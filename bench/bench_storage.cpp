// bench_storage: the event log's write and read speed (issue targets: raw append of
// 200-byte events with sync periodic >= 1M events/s; cursor scan >= 5M events/s).
//
//   bench_storage [EVENTS]        (default 1000000; data in a temp folder, removed after)
//
// Prints a table: name, figure, target, figure/target; exit 1 when a target is missed.
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <string>

#include "storage/log.h"

using namespace vigil;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU seconds of the whole process: on a shared machine wall time mostly measures
// the neighbours, so the table also shows events per CPU second.
double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<AppendRequest> make_batch(size_t first, size_t n) {
    std::vector<AppendRequest> b;
    b.reserve(n);
    std::string payload(200, ' ');
    for (size_t i = first; i < first + n; ++i) {
        AppendRequest r;
        r.key = "dev-" + std::to_string(i % 1000);
        r.event_time = 1767225600000 + static_cast<int64_t>(i);
        r.ingest_time = r.event_time;
        r.stream = "sensors";
        r.topic = "factory/line1/telemetry";
        std::snprintf(payload.data(), payload.size(), "{\"device\":\"%s\",\"ts\":%lld,\"metric\":\"temp\",\"value\":%zu}",
                      r.key.c_str(), static_cast<long long>(r.event_time), i % 97);
        r.payload = payload;
        b.push_back(std::move(r));
    }
    return b;
}

struct Row {
    std::string name;
    double figure, target;
    std::string unit;
};

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    size_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    const size_t kBatch = 5000, kInFlight = 4;
    std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return 2;
    std::string dir = tmpl + "/data";

    LogOptions o;
    o.dir = dir;
    o.partitions = 8;
    o.map_size = 1ULL << 30;
    o.sync = StorageSync::Periodic;
    o.sync_interval_ms = 100;
    std::vector<Row> rows;
    int rc = 0;
    {
        std::string err;
        auto log = EventLog::open(o, &err);
        if (!log) return std::fprintf(stderr, "%s\n", err.c_str()), 2;

        // Baseline: one event per request, waiting for each commit (no grouping).
        const size_t kSingles = 20000;
        auto singles = make_batch(0, kSingles);
        auto t0 = Clock::now();
        for (auto& r : singles)
            if (!log->append(std::move(r)).get().ok) return 3;
        double single_rate = kSingles / seconds_since(t0);

        // Batches prepared up front: the figure is the log's, not the JSON printer's.
        std::vector<std::vector<AppendRequest>> batches;
        for (size_t at = 0; at < events; at += kBatch) batches.push_back(make_batch(at, std::min(kBatch, events - at)));
        t0 = Clock::now();
        double c0 = cpu_seconds();
        std::deque<std::future<BatchResult>> inflight;
        for (auto& b : batches) {
            inflight.push_back(log->append_batch(std::move(b)));
            if (inflight.size() >= kInFlight) {
                if (!inflight.front().get().ok) return 3;
                inflight.pop_front();
            }
        }
        for (auto& f : inflight)
            if (!f.get().ok) return 3;
        double append_rate = events / seconds_since(t0);
        double append_cpu = events / (cpu_seconds() - c0);
        rows.push_back({"append 200 B, single (baseline)", single_rate, 0, "events/s"});
        rows.push_back({"append 200 B, batch 5000, periodic", append_rate, 1e6, "events/s"});
        rows.push_back({"  same, per CPU second", append_cpu, 0, "events/cpu-s"});

        t0 = Clock::now();
        c0 = cpu_seconds();
        size_t scanned = 0, bytes = 0;
        for (uint32_t p = 0; p < log->partitions(); ++p)
            log->scan(p, 1, 0, [&](const RecordView& r) { return ++scanned, bytes += r.payload.size(), true; });
        double scan_rate = scanned / seconds_since(t0);
        if (scanned != events + kSingles) std::fprintf(stderr, "scan saw %zu records\n", scanned), rc = 1;
        rows.push_back({"cursor scan (all partitions)", scan_rate, 5e6, "events/s"});
        rows.push_back({"  same, per CPU second", scanned / (cpu_seconds() - c0), 0, "events/cpu-s"});

        t0 = Clock::now();
        size_t in_range = 0;
        for (uint32_t p = 0; p < log->partitions(); ++p)
            log->scan_time(p, 1767225600000, 1767225600000 + static_cast<int64_t>(events / 2), 0,
                           [&](const RecordView&) { return ++in_range, true; });
        rows.push_back({"time-range scan (half the log)", in_range / seconds_since(t0), 0, "events/s"});
        MapInfo m = log->map_info();
        std::printf("events %zu, commits %llu, map %llu MiB, used %llu MiB, grows %u\n", events,
                    static_cast<unsigned long long>(m.commits), static_cast<unsigned long long>(m.map_size >> 20),
                    static_cast<unsigned long long>(m.used_bytes >> 20), m.map_grows);
    }
    std::error_code ec;
    std::filesystem::remove_all(tmpl, ec);

    std::printf("%-38s %14s %12s %8s\n", "benchmark", "figure", "target", "ratio");
    for (const auto& r : rows) {
        if (r.target > 0) {
            std::printf("%-38s %14.0f %12.0f %8.2f %s\n", r.name.c_str(), r.figure, r.target, r.figure / r.target,
                        r.unit.c_str());
            if (r.figure < r.target) rc = 1;
        } else {
            std::printf("%-38s %14.0f %12s %8s %s\n", r.name.c_str(), r.figure, "-", "-", r.unit.c_str());
        }
    }
    std::printf("group commit speed-up over single appends: %.1fx\n", rows[1].figure / rows[0].figure);
    return rc;
}
