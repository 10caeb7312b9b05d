// The swap path: PartitionEngine::swap_rules keeps unchanged rules' state, resets
// changed ones, frees removed ones, and warms `warm_start` rules without alerts;
// then the same through an EngineWorker over a real LMDB log.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "daemon/engine_worker.h"
#include "patterns/engine.h"
#include "reload_support.h"
#include "rules/rule_loader.h"
#include "storage/log.h"

using namespace vigil;
using namespace vigil::reload_test;

namespace {

StreamSpec stream_s() {
    StreamSpec s;
    s.name = "s";
    s.max_out_of_order_ms = 0;
    FieldPath p;
    FieldPath::parse("k", p, nullptr);
    s.key.push_back(p);
    return s;
}

RuleSetPtr rules_of(const std::string& yaml) {
    Diagnostics d;
    LoadedRules l = load_rules_text(yaml, "test.yaml", {stream_s()}, d);
    REQUIRE_MESSAGE(l.rules, d.to_string());
    return l.rules;
}

// rules_of() of several single rules.
std::string list(std::initializer_list<std::string> rules) {
    std::string out;
    for (const auto& r : rules) {
        std::string item;
        bool first = true;
        for (size_t i = 0, j; i < r.size(); i = j + 1) {
            j = r.find('\n', i);
            if (j == std::string::npos) j = r.size();
            item += (first ? "- " : "  ") + r.substr(i, j - i) + "\n";
            first = false;
        }
        out += item;
    }
    return out;
}

EventPtr event(const std::string& key, const std::string& type, int64_t time, uint64_t offset) {
    auto ev = std::make_shared<Event>();
    ev->stream = "s";
    ev->key = key;
    ev->time = time;
    ev->offset = offset;
    REQUIRE(ev->doc.parse("{\"k\":\"" + key + "\",\"type\":\"" + type + "\",\"ts\":" + std::to_string(time) + "}"));
    return ev;
}

std::vector<std::string> fired(const VectorAlertSink& sink) {
    std::vector<std::string> out;
    for (const auto& a : sink.alerts) out.push_back(a.rule + "/" + a.key);
    return out;
}

const std::string kWarm = "warm_start: 1h\n";

// A one-partition log in dir/data.
std::unique_ptr<EventLog> open_log(const TempTree& dir) {
    LogOptions lo;
    lo.dir = dir.file("data");
    lo.partitions = 1;
    std::string err;
    auto log = EventLog::open(lo, &err);
    REQUIRE_MESSAGE(log, err);
    return log;
}

// Appends {"k": key, "type": type, "ts": t} of stream s to partition 0.
void append(EventLog& log, const std::string& key, const std::string& type, int64_t t) {
    AppendRequest r;
    r.partition = 0;
    r.event_time = t;
    r.ingest_time = t;
    r.stream = "s";
    r.key = key;
    r.topic = "t/s";
    r.payload = "{\"k\":\"" + key + "\",\"type\":\"" + type + "\",\"ts\":" + std::to_string(t) + "}";
    REQUIRE(log.append(std::move(r)).get().ok);
}

// Polls `pred` every 10 ms for up to 5 s (a worker thread gets there on its own time).
bool until(const std::function<bool()>& pred) {
    for (int i = 0; i < 500 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return pred();
}

}  // namespace

TEST_CASE("swap_rules: unchanged rules keep partial matches, changed rules reset, removed rules are freed") {
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine(rules_of(list({pattern_rule("same"), pattern_rule("changed"), pattern_rule("gone")})),
                           {stream_s()}, clock, sink);
    engine.push(event("k1", "x", 1000, 1));
    REQUIRE(engine.runtime("same")->key_count() == 1);
    REQUIRE(engine.runtime("gone")->key_count() == 1);

    engine.swap_rules(rules_of(list({pattern_rule("same"), pattern_rule("changed", "x", "severity: high\n"),
                                     pattern_rule("added")})));
    CHECK(engine.runtime("gone") == nullptr);
    CHECK(engine.runtime("changed")->key_count() == 0);
    CHECK(engine.runtime("same")->key_count() == 1);
    engine.push(event("k1", "y", 2000, 2));
    CHECK(fired(sink) == std::vector<std::string>{"same/k1"});
}

TEST_CASE("swap_rules: warm_start replays the released past into the new rule only, without alerts") {
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine(rules_of(list({pattern_rule("old")})), {stream_s()}, clock, sink);
    std::vector<EventPtr> past = {event("k1", "x", 1000, 1), event("k1", "y", 2000, 2), event("k2", "x", 3000, 3),
                                  event("k3", "x", 9000, 5)};
    for (int i = 0; i < 3; ++i) engine.push(past[i]);
    REQUIRE(fired(sink) == std::vector<std::string>{"old/k1"});
    sink.alerts.clear();

    std::vector<std::pair<int64_t, int64_t>> asked;
    WarmSource source = [&](int64_t from, int64_t to, const std::function<void(EventPtr)>& feed) {
        asked.emplace_back(from, to);
        for (const auto& ev : past)
            if (ev->time >= from && ev->time < to) feed(ev);
    };
    engine.swap_rules(rules_of(list({pattern_rule("old"), pattern_rule("warm", "x", kWarm),
                                     pattern_rule("cold")})),
                      source);
    REQUIRE(asked.size() == 1);  // only the warm rule asks, once
    CHECK(asked[0].first == 3000 - 3'600'000);
    CHECK(asked[0].second == 3001);  // up to the watermark; k3 at 9000 was never pushed
    CHECK(engine.warm_events() == 3);
    CHECK(sink.alerts.empty());  // k1's x..y matched during the warm-up: discarded
    CHECK(engine.runtime("warm")->key_count() == 1);

    engine.push(event("k2", "y", 4000, 4));
    CHECK(fired(sink) == std::vector<std::string>{"old/k2", "warm/k2"});
}

TEST_CASE("engine worker: a rule added with warm_start catches a pattern that began before it, from LMDB") {
    TempTree dir;
    auto log = open_log(dir);

    SystemClock clock;
    WorkerOptions wo;
    wo.checkpoint_interval_ms = 20;
    EngineWorker worker(*log, {0}, rules_of(list({pattern_rule("old")})), {stream_s()}, clock, wo);
    worker.start();
    append(*log, "k1", "x", 1000);
    append(*log, "k2", "x", 2000);
    REQUIRE(until([&] { return worker.stats().events == 2; }));

    worker.swap_rules(rules_of(list({pattern_rule("old"), pattern_rule("warm", "x", kWarm), pattern_rule("cold")})));
    auto has_rule = [&](const std::string& id) {
        for (const auto& s : worker.rule_stats())
            if (s.rule == id) return true;
        return false;
    };
    REQUIRE(until([&] { return has_rule("warm") && has_rule("cold"); }));
    append(*log, "k1", "y", 3000);
    REQUIRE(until([&] { return worker.stats().events == 3 && worker.stats().alerts >= 2; }));
    worker.stop();

    std::vector<std::string> alerts;
    REQUIRE(log->alerts_scan(INT64_MIN, INT64_MAX, [&](int64_t, std::string_view, std::string_view json) {
                   for (std::string id : {"old", "warm", "cold"})
                       if (json.find("\"rule\":\"" + id + "\"") != std::string_view::npos) alerts.push_back(id);
                   return true;
               }).ok);
    std::sort(alerts.begin(), alerts.end());
    CHECK(alerts == std::vector<std::string>{"old", "warm"});  // cold started empty: k1's x came before it
}

TEST_CASE("engine worker: a swap deletes the LMDB state of removed and changed rules, keeps the unchanged") {
    TempTree dir;
    auto log = open_log(dir);
    CommitBatch seed;
    for (std::string rule : {"same", "changed", "gone"})
        for (std::string key : {"k1", "k2"}) seed.state.push_back(StateChange{rule, 0, key, "v", false});
    REQUIRE(log->commit_batch(std::move(seed)).get().ok);
    auto keys_of = [&](const std::string& rule) {
        size_t n = 0;
        REQUIRE(log->state_scan(rule, 0, [&](std::string_view, std::string_view) { return ++n > 0; }).ok);
        return n;
    };
    REQUIRE(keys_of("gone") == 2);

    SystemClock clock;
    EngineWorker worker(*log, {0},
                        rules_of(list({pattern_rule("same"), pattern_rule("changed"), pattern_rule("gone")})),
                        {stream_s()}, clock, WorkerOptions{});
    worker.start();
    worker.swap_rules(rules_of(list({pattern_rule("same"), pattern_rule("changed", "z")})));
    bool freed = until([&] { return keys_of("gone") == 0 && keys_of("changed") == 0; });
    worker.stop();
    CHECK(freed);
    CHECK(keys_of("same") == 2);
}

TEST_CASE("engine worker: events older than the watermark count in WorkerStats::late_events") {
    TempTree dir;
    auto log = open_log(dir);
    SystemClock clock;
    EngineWorker worker(*log, {0}, rules_of(list({pattern_rule("p")})), {stream_s()}, clock, WorkerOptions{});
    worker.start();
    append(*log, "k1", "x", 5000);
    append(*log, "k1", "x", 1000);  // max_out_of_order 0: behind the watermark of 5000
    append(*log, "k1", "x", 6000);
    bool counted = until([&] {
        WorkerStats s = worker.stats();
        return s.events == 3 && s.late_events == 1;
    });
    worker.stop();
    CHECK(counted);
    CHECK(worker.stats().late_events == 1);
}
