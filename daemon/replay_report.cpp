#include "daemon/replay_report.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "rules/json.h"
#include "rules/units.h"

namespace vigil {

namespace {

constexpr int64_t kHourMs = 3'600'000;

int64_t hour_of(int64_t t) { return t - (((t % kHourMs) + kHourMs) % kHourMs); }

RuleReport& rule_entry(ReplayReport& r, std::map<std::string, size_t>& index, const std::string& rule) {
    auto it = index.find(rule);
    if (it != index.end()) return r.rules[it->second];
    index.emplace(rule, r.rules.size());
    r.rules.push_back(RuleReport{});
    r.rules.back().rule = rule;
    return r.rules.back();
}

std::string fmt_time(int64_t ms) { return ms ? format_rfc3339_ms(ms) : std::string("-"); }

void sort_rules(ReplayReport& r) {
    std::sort(r.rules.begin(), r.rules.end(), [](const RuleReport& a, const RuleReport& b) { return a.rule < b.rule; });
}

}  // namespace

ReplayReport make_report(const LogReplayResult& res, int64_t from, int64_t to) {
    ReplayReport r;
    r.from = from;
    r.to = to;
    r.events = res.events;
    r.bad_records = res.bad_records;
    r.late_events = res.late_events;
    r.seconds = res.seconds;
    std::map<std::string, size_t> index;
    for (const auto& s : res.rule_stats) rule_entry(r, index, s.rule).late_events = s.counters.late_events;
    std::map<std::string, std::unordered_set<std::string>> keys;
    for (const auto& a : res.briefs) {
        RuleReport& e = rule_entry(r, index, a.rule);
        ++e.alerts;
        keys[a.rule].insert(a.key);
        if (e.alerts == 1 || a.time < e.first) e.first = a.time;
        if (e.alerts == 1 || a.time > e.last) e.last = a.time;
        e.per_hour[hour_of(a.time)]++;
    }
    for (auto& e : r.rules) e.distinct_keys = keys[e.rule].size();
    sort_rules(r);
    return r;
}

void diff_report(ReplayReport& report, const std::vector<AlertBrief>& candidate, const std::vector<AlertBrief>& live,
                 uint64_t unreadable_live) {
    report.diffed = true;
    report.live_alerts = live.size();
    report.unreadable_live = unreadable_live;
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < report.rules.size(); ++i) index.emplace(report.rules[i].rule, i);
    std::unordered_set<std::string> live_matches;
    for (const auto& a : live) live_matches.insert(a.match);
    std::unordered_set<std::string> cand_matches;
    for (const auto& a : candidate) {
        if (a.time < report.from || a.time >= report.to) continue;
        if (!cand_matches.insert(a.match).second) continue;
        RuleReport& e = rule_entry(report, index, a.rule);
        if (live_matches.count(a.match)) ++e.both;
        else ++e.only_candidate;
    }
    std::unordered_set<std::string> seen;
    for (const auto& a : live) {
        if (!seen.insert(a.match).second) continue;
        if (!cand_matches.count(a.match)) ++rule_entry(report, index, a.rule).only_live;
    }
    sort_rules(report);
}

std::string report_text(const ReplayReport& r) {
    std::string o;
    char buf[512];
    std::snprintf(buf, sizeof buf, "replay %s .. %s: %llu events (%llu unreadable), %llu late, %.3f s, %.0f events/s\n",
                  fmt_time(r.from).c_str(), fmt_time(r.to).c_str(), static_cast<unsigned long long>(r.events),
                  static_cast<unsigned long long>(r.bad_records), static_cast<unsigned long long>(r.late_events),
                  r.seconds, r.seconds > 0 ? static_cast<double>(r.events) / r.seconds : 0.0);
    o += buf;
    std::snprintf(buf, sizeof buf, "\n%-28s %8s %6s %6s  %-24s %-24s\n", "rule", "alerts", "keys", "late", "first",
                  "last");
    o += buf;
    for (const auto& e : r.rules) {
        std::snprintf(buf, sizeof buf, "%-28s %8llu %6llu %6llu  %-24s %-24s\n", e.rule.c_str(),
                      static_cast<unsigned long long>(e.alerts), static_cast<unsigned long long>(e.distinct_keys),
                      static_cast<unsigned long long>(e.late_events), fmt_time(e.first).c_str(),
                      fmt_time(e.last).c_str());
        o += buf;
    }
    if (r.diffed) {
        std::snprintf(buf, sizeof buf, "\ndiff against live (%llu live alerts in range%s):\n%-28s %10s %10s %10s\n",
                      static_cast<unsigned long long>(r.live_alerts),
                      r.unreadable_live ? ", some unreadable" : "", "rule", "only-new", "only-live", "both");
        o += buf;
        for (const auto& e : r.rules) {
            std::snprintf(buf, sizeof buf, "%-28s %10llu %10llu %10llu\n", e.rule.c_str(),
                          static_cast<unsigned long long>(e.only_candidate),
                          static_cast<unsigned long long>(e.only_live), static_cast<unsigned long long>(e.both));
            o += buf;
        }
    }
    for (const auto& e : r.rules) {
        if (e.per_hour.empty()) continue;
        uint64_t peak = 0;
        for (const auto& [h, n] : e.per_hour) peak = std::max(peak, n);
        o += "\nalerts per hour: " + e.rule + "\n";
        size_t shown = 0;
        for (const auto& [h, n] : e.per_hour) {
            if (++shown > 48) {
                o += "  ... " + std::to_string(e.per_hour.size() - 48) + " more hours\n";
                break;
            }
            int width = static_cast<int>((n * 40 + peak - 1) / peak);
            std::snprintf(buf, sizeof buf, "  %s %-40s %llu\n", format_rfc3339_ms(h).c_str(),
                          std::string(static_cast<size_t>(width), '#').c_str(), static_cast<unsigned long long>(n));
            o += buf;
        }
    }
    return o;
}

std::string report_json(const ReplayReport& r) {
    std::string o = "{\"from\":" + std::to_string(r.from) + ",\"to\":" + std::to_string(r.to);
    o += ",\"events\":" + std::to_string(r.events) + ",\"unreadable_events\":" + std::to_string(r.bad_records);
    o += ",\"late_events\":" + std::to_string(r.late_events);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", r.seconds);
    o += ",\"seconds\":";
    o += buf;
    std::snprintf(buf, sizeof buf, "%.0f", r.seconds > 0 ? static_cast<double>(r.events) / r.seconds : 0.0);
    o += ",\"events_per_second\":";
    o += buf;
    if (r.diffed) o += ",\"live_alerts\":" + std::to_string(r.live_alerts);
    o += ",\"rules\":[";
    for (size_t i = 0; i < r.rules.size(); ++i) {
        const auto& e = r.rules[i];
        if (i) o += ',';
        o += "{\"rule\":";
        json_escape(o, e.rule);
        o += ",\"alerts\":" + std::to_string(e.alerts) + ",\"distinct_keys\":" + std::to_string(e.distinct_keys);
        o += ",\"late_events\":" + std::to_string(e.late_events);
        o += ",\"first_alert\":" + (e.alerts ? std::to_string(e.first) : std::string("null"));
        o += ",\"last_alert\":" + (e.alerts ? std::to_string(e.last) : std::string("null"));
        o += ",\"per_hour\":[";
        bool first = true;
        for (const auto& [h, n] : e.per_hour) {
            if (!first) o += ',';
            first = false;
            o += "{\"hour\":" + std::to_string(h) + ",\"alerts\":" + std::to_string(n) + "}";
        }
        o += ']';
        if (r.diffed)
            o += ",\"diff\":{\"only_candidate\":" + std::to_string(e.only_candidate) +
                 ",\"only_live\":" + std::to_string(e.only_live) + ",\"both\":" + std::to_string(e.both) + "}";
        o += '}';
    }
    o += "]}";
    return o;
}

}  // namespace vigil
