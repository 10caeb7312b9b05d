// Log replay over a real LMDB log in a temp folder: time range, partitions,
// worker count, the alert match signature, the report and the diff.
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "daemon/replay_log.h"
#include "daemon/replay_report.h"
#include "rules/rule_loader.h"
#include "storage/log.h"
#include "../storage/temp_dir.h"

using namespace vigil;
using namespace vigil::test;

namespace {

const char* kRules = R"(
rules:
  - rule: hot3
    stream: sensors
    key: device
    pattern:
      - name: hot
        where: value > 90
        times: 3
    within: 2m
    skip: past_last_event
  - rule: per-minute
    stream: sensors
    key: device
    window: {type: tumbling, size: 1m}
    aggregate:
      n: count()
)";

constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z

RuleSetPtr rules() {
    Diagnostics d;
    LoadedRules l = load_rules_text(kRules, "rules.yaml", {}, d);
    REQUIRE_MESSAGE(l.rules, d.to_string());
    return l.rules;
}

std::vector<StreamSpec> streams() {
    StreamSpec s;
    s.name = "sensors";
    FieldPath key;
    REQUIRE(FieldPath::parse("device", key, nullptr));
    s.key.push_back(key);
    return {s};
}

// Devices d0..d7 spread over 4 partitions; every 10 s one reading per device,
// hot (95) in minutes 1 and 3, 50 otherwise, for 5 minutes.
void fill(EventLog& log) {
    std::vector<AppendRequest> batch;
    for (int64_t t = kT0; t < kT0 + 5 * 60000; t += 10000) {
        bool hot = ((t - kT0) / 60000) % 2 == 1;
        for (int d = 0; d < 8; ++d) {
            std::string dev = "d" + std::to_string(d);
            std::string payload = "{\"device\":\"" + dev + "\",\"ts\":" + std::to_string(t) +
                                  ",\"value\":" + (hot ? "95" : "50") + "}";
            batch.push_back(event(static_cast<uint32_t>(d % 4), t, payload, dev));
        }
    }
    REQUIRE(log.append_batch(std::move(batch)).get().ok);
}

// The log in dir/data, as replay opens it.
std::unique_ptr<EventLog> open_read_only(const TempDir& dir) {
    LogOptions ro = small_log(dir.sub("data"));
    ro.read_only = true;
    std::string err;
    auto log = EventLog::open(ro, &err);
    REQUIRE_MESSAGE(log, err);
    return log;
}

std::set<std::string> ids(const LogReplayResult& r) {
    std::set<std::string> out;
    for (const auto& b : r.briefs) out.insert(b.id);
    return out;
}

}  // namespace

TEST_CASE("log replay: the time range, partitions and worker count") {
    TempDir dir;
    {
        std::string err;
        auto log = EventLog::open(small_log(dir.sub("data")), &err);
        REQUIRE_MESSAGE(log, err);
        fill(*log);
    }
    std::string err;
    auto log = open_read_only(dir);

    LogReplayOptions o;
    LogReplayResult all;
    REQUIRE(run_log_replay(*log, rules(), streams(), o, all, &err));
    CHECK(all.events == 30 * 8);
    CHECK(all.bad_records == 0);
    // hot3: two runs of 6 hot readings per device (minutes 1 and 3) = 2 alerts per run, 4 per device.
    // per-minute: 5 windows per device (the flush closes the last one).
    auto count = [](const LogReplayResult& r, const std::string& rule) {
        return std::count_if(r.briefs.begin(), r.briefs.end(), [&](const AlertBrief& b) { return b.rule == rule; });
    };
    CHECK(count(all, "hot3") == 8 * 4);
    CHECK(count(all, "per-minute") == 8 * 5);
    REQUIRE(all.alert_json.size() == all.briefs.size());
    for (size_t i = 0; i < all.alert_json.size(); ++i) {
        AlertBrief b;
        REQUIRE(brief_from_json(all.alert_json[i], b));
        const AlertBrief& from_alert = all.briefs[i];  // match_signature(Alert)
        CHECK(b.match == from_alert.match);
        CHECK(b.id == from_alert.id);
        CHECK(b.time == from_alert.time);
        if (b.kind == "window") CHECK(b.partition == UINT32_MAX);
        else CHECK(b.partition == from_alert.partition);
    }
    for (const auto& b : all.briefs) CHECK(b.partition < 4u);

    SUBCASE("two workers give the same alerts") {
        LogReplayOptions o2;
        o2.workers = 2;
        LogReplayResult two;
        REQUIRE(run_log_replay(*log, rules(), streams(), o2, two, &err));
        CHECK(two.events == all.events);
        CHECK(ids(two) == ids(all));
    }
    SUBCASE("from <= event time < to; without flush the open window stays open") {
        LogReplayOptions o2;
        o2.from = kT0 + 60000;
        o2.to = kT0 + 120000;
        o2.flush = false;
        LogReplayResult part;
        REQUIRE(run_log_replay(*log, rules(), streams(), o2, part, &err));
        CHECK(part.events == 6 * 8);
        CHECK(count(part, "hot3") == 8 * 2);
        CHECK(count(part, "per-minute") == 0);
        o2.flush = true;
        LogReplayResult flushed;
        REQUIRE(run_log_replay(*log, rules(), streams(), o2, flushed, &err));
        CHECK(count(flushed, "per-minute") == 8);
        for (const auto& id : ids(part)) CHECK(ids(all).count(id) == 1);  // same offsets, same ids
    }
    SUBCASE("one partition; an unknown partition is an error") {
        LogReplayOptions o2;
        o2.partitions = {1};
        LogReplayResult one;
        REQUIRE(run_log_replay(*log, rules(), streams(), o2, one, &err));
        CHECK(one.events == 30 * 2);
        for (const auto& b : one.briefs) CHECK(b.partition == 1u);
        o2.partitions = {7};
        CHECK_FALSE(run_log_replay(*log, rules(), streams(), o2, one, &err));
        CHECK(err.find("partition 7") != std::string::npos);
    }
    SUBCASE("report and diff") {
        ReplayReport rep = make_report(all, kT0, kT0 + 10 * 60000);
        REQUIRE(rep.rules.size() == 2);
        CHECK(rep.rules[0].rule == "hot3");
        CHECK(rep.rules[0].alerts == 32);
        CHECK(rep.rules[0].distinct_keys == 8);
        CHECK(rep.rules[0].first == kT0 + 80000);  // third hot reading of minute 1
        CHECK(rep.rules[0].per_hour.size() == 1);
        CHECK(rep.rules[0].per_hour.begin()->first == kT0);
        CHECK(rep.rules[1].rule == "per-minute");
        CHECK(rep.rules[1].last == kT0 + 5 * 60000);  // window end

        // "live" = the hot3 alerts of partition 0 plus one alert no replay raised.
        std::vector<AlertBrief> live;
        for (const auto& b : all.briefs)
            if (b.rule == "hot3" && b.partition == 0) live.push_back(b);
        AlertBrief extra = live.front();
        extra.match += "x";
        live.push_back(extra);
        diff_report(rep, all.briefs, live, 0);
        CHECK(rep.rules[0].both == 8);
        CHECK(rep.rules[0].only_candidate == 24);
        CHECK(rep.rules[0].only_live == 1);
        CHECK(rep.rules[1].only_candidate == 40);
        std::string json = report_json(rep);
        CHECK(json.find("\"only_live\":1") != std::string::npos);
        std::string text = report_text(rep);
        CHECK(text.find("alerts per hour: hot3") != std::string::npos);
        CHECK(text.find("2026-01-01T00:00:00") != std::string::npos);
    }
}

// The reader threads also evaluate the stages' payload-only conditions ahead
// (rules/precomputed.h), for the events the rule's `where` lets through: stages of
// each kind, one that counts type errors, wheres of each kind.
const char* kThreadRules = R"(
rules:
  - rule: rise
    stream: sensors
    key: device
    where: label != 2
    pattern:
      - {name: a, where: value > 95}
      - {name: b, where: value > a.value - 10}
    within: 1m
  - rule: typed
    stream: sensors
    key: device
    pattern:
      - {name: s, where: 'label > 3 && value > 85'}
      - {name: t, where: '$key == "d3" || value > 98'}
    within: 2m
  - rule: one-device
    stream: sensors
    key: device
    where: device == "d1"
    pattern:
      - {name: x, where: value > 90}
      - {name: y, where: value > 85}
    within: 2m
  - rule: numbers
    stream: sensors
    key: device
    window: {type: hopping, size: 2m, advance: 1m}
    aggregate: {avg_v: avg(value), s: sum(label), l: last(label), hi: max(value)}
    having: avg_v > 89.4
)";

RuleSetPtr thread_rules() {
    Diagnostics d;
    std::string text = kRules;
    text += std::string(kThreadRules).substr(std::string("\nrules:\n").size());
    LoadedRules l = load_rules_text(text, "rules.yaml", {}, d);
    REQUIRE_MESSAGE(l.rules, d.to_string());
    REQUIRE(l.rules->rules.size() == 6);
    return l.rules;
}

TEST_CASE("log replay: reading in a thread of its own gives what reading in the engine's thread gives") {
    TempDir dir;
    {
        std::string err;
        auto log = EventLog::open(small_log(dir.sub("data")), &err);
        REQUIRE_MESSAGE(log, err);
        // 20000 records over 4 partitions (many batches each), 1 in 97 not JSON,
        // values that make hot3 hold events across batches.
        std::vector<AppendRequest> batch;
        for (int i = 0; i < 20000; ++i) {
            std::string dev = "d" + std::to_string(i % 37);
            int64_t t = kT0 + i * 250;
            std::string payload = i % 97 == 5 ? std::string("{not json")
                                              : "{\"device\":\"" + dev + "\",\"ts\":" + std::to_string(t) +
                                                    ",\"value\":" + std::to_string(80 + (i * 7919) % 20) +
                                                    ",\"label\":" + (i % 11 == 3 ? "\"x\"" : std::to_string(i % 7)) +
                                                    "}";
            batch.push_back(event(static_cast<uint32_t>(i % 4), t, payload, dev));
        }
        REQUIRE(log->append_batch(std::move(batch)).get().ok);
    }
    std::string err;
    auto log = open_read_only(dir);
    LogReplayOptions inline_read;
    inline_read.read_thread = false;
    LogReplayResult a;
    REQUIRE(run_log_replay(*log, thread_rules(), streams(), inline_read, a, &err));
    CHECK_FALSE(a.read_threads);
    CHECK(a.engine_cpu_seconds > 0);
    CHECK(a.reader_cpu_seconds == 0);
    REQUIRE(a.rule_stats.size() == 6);
    CHECK(a.rule_stats[3].counters.errors > 0);  // `label > 3` on "x"
    CHECK(a.batches == 0);
    // The reader's conditions: always, never, and batch by batch as the engine keeps up.
    for (auto [workers, conditions] : {std::pair{1u, std::optional<bool>{}}, {3u, std::optional<bool>{}},
                                       {1u, std::optional<bool>{true}}, {3u, std::optional<bool>{true}},
                                       {1u, std::optional<bool>{false}}, {3u, std::optional<bool>{false}}}) {
        CAPTURE(workers);
        CAPTURE(conditions.has_value() ? (*conditions ? "always" : "never") : "by batch");
        LogReplayOptions threaded;
        threaded.workers = workers;
        threaded.read_thread = true;
        threaded.read_conditions = conditions;
        LogReplayResult b;
        REQUIRE(run_log_replay(*log, thread_rules(), streams(), threaded, b, &err));
        CHECK(b.read_threads);
        CHECK(b.engine_cpu_seconds > 0);
        CHECK(b.reader_cpu_seconds > 0);
        CHECK(b.batches == 4 * 20);  // 5000 records a partition, 256 a batch
        if (conditions == true) CHECK(b.condition_batches == b.batches);
        if (conditions == false) CHECK(b.condition_batches == 0);
        CHECK(b.condition_batches <= b.batches);
        CHECK(b.events == 20000);
        CHECK(b.events == a.events);
        CHECK(b.bad_records == a.bad_records);
        CHECK(b.bad_records == 207);
        REQUIRE(b.briefs.size() == a.briefs.size());
        CHECK(a.briefs.size() > 500);
        for (size_t i = 0; i < a.briefs.size(); ++i) {
            CHECK(b.briefs[i].id == a.briefs[i].id);
            CHECK(b.briefs[i].match == a.briefs[i].match);
        }
        CHECK(b.alert_json == a.alert_json);
        REQUIRE(b.rule_stats.size() == a.rule_stats.size());
        for (size_t r = 0; r < a.rule_stats.size(); ++r) {
            CAPTURE(a.rule_stats[r].rule);
            const RuleCounters &x = a.rule_stats[r].counters, &y = b.rule_stats[r].counters;
            CHECK(y.evaluations == x.evaluations);
            CHECK(y.matches == x.matches);
            CHECK(y.errors == x.errors);
            CHECK(y.late_events == x.late_events);
            CHECK(b.rule_stats[r].events == a.rule_stats[r].events);
        }
    }
    for (const auto& s : a.rule_stats) CHECK_MESSAGE(s.counters.matches > 0, s.rule);
}

TEST_CASE("log replay: brief_from_json reads alerts and refuses other JSON") {
    AlertBrief b;
    CHECK_FALSE(brief_from_json("not json", b));
    CHECK_FALSE(brief_from_json("[1,2]", b));
    CHECK_FALSE(brief_from_json(R"({"rule":"r"})", b));  // no id
    REQUIRE(brief_from_json(R"({"id":"00ff","rule":"r","kind":"match","key":"k","time":5,)"
                            R"("offsets":{"a":[[2,7],"junk",[2,9]],"b":[]}})",
                            b));
    CHECK(b.id == "00ff");
    CHECK(b.time == 5);
    CHECK(b.partition == 2u);
    CHECK(b.match == "r\x1fmatch\x1fk\x1f" "a:2/7,2/9,;b:;\x1f");
}
