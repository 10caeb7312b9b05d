// `not` stages, `within`, absence and timed-out partial matches.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "nfa_support.h"

using namespace vigil;
using namespace vigil::nfa_test;
using V = std::vector<std::string>;

TEST_CASE("nfa: notNext (strict not) between stages") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "c", .contiguity = Contiguity::Strict, .negated = true}),
                              stage({.name = "b"})});
    Harness h(rule);
    h.run("a1 c1 b1 a2 x c2 b2");
    CHECK(h.matches() == V{"a2 b2"});
}

TEST_CASE("nfa: notFollowedBy (relaxed not) between stages") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "c", .negated = true}), stage({.name = "b"})});
    Harness h(rule);
    h.run("a1 x c1 b1 a2 x b2");
    CHECK(h.matches() == V{"a2 b2"});
}

TEST_CASE("nfa: absence at the end fires when the watermark passes first + within") {
    // heartbeat not followed by another heartbeat within 60s.
    auto rule = pattern_rule({stage({.name = "hb", .type = "h"}), stage({.name = "next", .type = "h", .negated = true})});
    rule->pattern.within_ms = 60'000;
    rule->pattern.skip = SkipStrategy::PastLastEvent;
    ManualClock clock;
    PatternRuntime rt(rule, clock);
    VectorAlertSink sink;
    rt.on_event(event("h", 0, "h1"), sink);
    rt.on_event(event("h", 30'000, "h2"), sink);  // kills h1's absence
    rt.on_watermark(89'999, sink);
    CHECK(sink.alerts.empty());
    rt.on_watermark(90'000, sink);  // h2 + 60s
    REQUIRE(sink.alerts.size() == 1);
    CHECK(ids(sink.alerts[0]) == "h2");
    CHECK(sink.alerts[0].kind == "match");
    CHECK(sink.alerts[0].time == 30'000);
    CHECK(rt.key_count() == 0);  // nothing left to wait for
}

TEST_CASE("nfa: an event at the absence deadline is outside the window") {
    auto rule = pattern_rule({stage({.name = "hb", .type = "h"}), stage({.name = "next", .type = "h", .negated = true})});
    rule->pattern.within_ms = 60'000;
    rule->pattern.skip = SkipStrategy::PastLastEvent;
    ManualClock clock;
    PatternRuntime rt(rule, clock);
    VectorAlertSink sink;
    rt.on_event(event("h", 0, "h1"), sink);
    rt.on_event(event("h", 60'000, "h2"), sink);  // 60s after: h1 is already absent
    CHECK(all_ids(sink.alerts) == V{"h1"});
}

TEST_CASE("nfa: notNext at the end completes on the next event") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "c", .contiguity = Contiguity::Strict, .negated = true})});
    rule->pattern.within_ms = 100;
    Harness h(rule);
    h.run("a1 c1 a2 x");
    CHECK(h.matches() == V{"a2"});
}

TEST_CASE("nfa: within first_and_last prunes and, with emit.timeouts, reports") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b"}), stage({.name = "c"})});
    rule->pattern.within_ms = 10;
    rule->emit.timeouts = true;
    ManualClock clock;
    PatternRuntime rt(rule, clock);
    VectorAlertSink sink;
    rt.on_event(event("a", 0, "a1"), sink);
    rt.on_event(event("b", 5, "b1"), sink);
    rt.on_event(event("c", 10, "c1"), sink);  // 10 - 0 is not < 10
    CHECK(all_ids(sink.alerts) == V{});
    CHECK(all_ids(sink.alerts, "timeout") == V{"a1 b1"});
    rt.on_event(event("a", 20, "a2"), sink);
    rt.on_event(event("b", 25, "b2"), sink);
    rt.on_event(event("c", 29, "c2"), sink);
    CHECK(all_ids(sink.alerts) == V{"a2 b2 c2"});
    CHECK(rt.counters().matches == 1);
}

TEST_CASE("nfa: within previous_and_current bounds each gap") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b"}), stage({.name = "c"})});
    rule->pattern.within_ms = 10;
    rule->pattern.within_type = WithinType::PreviousAndCurrent;
    ManualClock clock;
    PatternRuntime rt(rule, clock);
    VectorAlertSink sink;
    rt.on_event(event("a", 0, "a1"), sink);
    rt.on_event(event("b", 9, "b1"), sink);
    rt.on_event(event("c", 18, "c1"), sink);
    CHECK(all_ids(sink.alerts) == V{"a1 b1 c1"});
}

TEST_CASE("nfa: timeouts are not emitted without emit.timeouts, and state is freed") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b"})});
    rule->pattern.within_ms = 10;
    ManualClock clock;
    PatternRuntime rt(rule, clock);
    VectorAlertSink sink;
    for (int k = 0; k < 50; ++k) rt.on_event(event("a", 0, "a", "key" + std::to_string(k)), sink);
    CHECK(rt.key_count() == 50);
    rt.on_watermark(1000, sink);
    CHECK(sink.alerts.empty());
    CHECK(rt.key_count() == 0);
    CHECK(rt.buffer().live_nodes() == 0);
    CHECK(rt.buffer().live_events() == 0);
}

TEST_CASE("nfa: across many keys each timeout fires once, at its deadline, in deadline order") {
    // a b c within 150 (previous_and_current: every event moves its key's deadline),
    // 100 keys: keys that finish leave the timer heap from anywhere in it.
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b"}), stage({.name = "c"})});
    rule->pattern.within_ms = 150;
    rule->pattern.within_type = WithinType::PreviousAndCurrent;
    rule->emit.timeouts = true;
    ManualClock clock;
    PatternRuntime rt(rule, clock);
    VectorAlertSink sink;
    struct Model {
        int stage = 0;
        int64_t last = 0;
    };
    std::vector<Model> keys(100);
    std::vector<std::pair<int64_t, std::string>> want_timeouts;  // (last event time, key)
    size_t want_matches = 0;
    std::mt19937 rng(11);
    for (int64_t t = 1; t <= 20'000; ++t) {
        for (size_t k = 0; k < keys.size(); ++k) {
            if (keys[k].stage > 0 && keys[k].last + 150 <= t) {  // due before the event at t
                want_timeouts.emplace_back(keys[k].last, "k" + std::to_string(k));
                keys[k].stage = 0;
            }
        }
        const size_t k = rng() % keys.size();
        const std::string type(1, static_cast<char>('a' + keys[k].stage));
        rt.on_event(event(type, t, type + std::to_string(t), "k" + std::to_string(k)), sink);
        keys[k].last = t;
        if (++keys[k].stage == 3) {
            keys[k].stage = 0;
            ++want_matches;
        }
    }
    std::vector<std::pair<int64_t, std::string>> got;
    size_t matches = 0;
    for (const Alert& a : sink.alerts) {
        if (a.kind == "match") ++matches;
        if (a.kind != "timeout") continue;
        if (!got.empty()) CHECK(a.time >= got.back().first);  // deadline order
        got.emplace_back(a.time, a.key);
    }
    std::sort(got.begin(), got.end());
    std::sort(want_timeouts.begin(), want_timeouts.end());
    CHECK(got == want_timeouts);
    CHECK(matches == want_matches);
    CHECK(got.size() > 1000);
    CHECK(matches > 1000);
}
