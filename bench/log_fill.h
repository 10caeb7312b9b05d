#pragma once
// Fills an EventLog with lines of the sensor workload (bench/workload.h) the way
// ingest does: batches of 5000, at most 4 in flight. Returns false when a batch
// fails (the log is then partly filled).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <string>
#include <vector>

#include "storage/log.h"

namespace vigil::bench {

inline bool append_sensor_lines(EventLog& log, const std::vector<std::string>& lines) {
    constexpr size_t kBatch = 5000, kInFlight = 4;
    std::deque<std::future<BatchResult>> inflight;
    for (size_t b = 0; b < lines.size(); b += kBatch) {
        std::vector<AppendRequest> batch;
        for (size_t i = b; i < std::min(lines.size(), b + kBatch); ++i) {
            const std::string& l = lines[i];
            AppendRequest r;
            r.key = l.substr(11, 11);  // {"device":"pump-000042",...
            const char* ts = std::strstr(l.c_str(), "\"ts\":");
            r.event_time = ts ? std::strtoll(ts + 5, nullptr, 10) : 0;
            r.ingest_time = r.event_time;
            r.stream = "sensors";
            r.topic = "factory/line1/telemetry";
            r.payload = l;
            batch.push_back(std::move(r));
        }
        inflight.push_back(log.append_batch(std::move(batch)));
        if (inflight.size() >= kInFlight) {
            if (!inflight.front().get().ok) return false;
            inflight.pop_front();
        }
    }
    bool ok = true;
    for (auto& f : inflight) ok = f.get().ok && ok;
    return ok;
}

}  // namespace vigil::bench
