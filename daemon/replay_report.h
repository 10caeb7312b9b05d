#pragma once
// The report of a log replay (`vigil replay --from/--to`) and its comparison with
// the live alert store (`--diff-against live`), as a text table or JSON.
//
// Guarantees
//  - Per rule: alerts, distinct keys, alerts per hour of alert time (sparse
//    buckets, shown as a small text histogram), first and last alert time, late
//    events; overall: events, seconds, events/s.
//  - The diff compares alerts whose alert time is in [from, to) on both sides, by
//    match (rule, kind, key, matched partition/offset pairs, window), not by id,
//    so a new version of a rule that raises the same matches shows them as "both".
//  - Output is deterministic: rules and buckets in name/time order.
// Failure modes: none; an alert-store record that is not an alert is counted in
// unreadable_live.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "daemon/replay_log.h"

namespace vigil {

struct RuleReport {
    std::string rule;
    uint64_t alerts = 0;
    uint64_t distinct_keys = 0;
    int64_t first = 0, last = 0;  // alert times; 0 when no alert
    uint64_t late_events = 0;
    std::map<int64_t, uint64_t> per_hour;  // hour start (epoch ms) -> alerts
    // Filled by the diff.
    uint64_t only_candidate = 0, only_live = 0, both = 0;
};

struct ReplayReport {
    int64_t from = 0, to = 0;
    uint64_t events = 0, bad_records = 0, late_events = 0;
    double seconds = 0;
    bool diffed = false;
    uint64_t live_alerts = 0, unreadable_live = 0;
    std::vector<RuleReport> rules;  // sorted by rule id
};

// Alerts outside [from, to) of alert time are counted but not in the diff.
ReplayReport make_report(const LogReplayResult& r, int64_t from, int64_t to);
// Compares the candidate alerts (alert time in [report.from, report.to)) with
// `live` (already limited to that range and to the replayed partitions).
void diff_report(ReplayReport& report, const std::vector<AlertBrief>& candidate, const std::vector<AlertBrief>& live,
                 uint64_t unreadable_live);

std::string report_text(const ReplayReport& r);
std::string report_json(const ReplayReport& r);

}  // namespace vigil
