// Bounded keyed state and the shared buffer.
#include <doctest/doctest.h>

#include "nfa_support.h"

using namespace vigil;
using namespace vigil::nfa_test;
using V = std::vector<std::string>;

TEST_CASE("shared buffer: one event taken by many partial matches is stored once") {
    SharedBuffer buf;
    auto e1 = event("a", 1, "a1");
    auto e2 = event("b", 2, "b1");
    auto n1 = buf.add(SharedBuffer::kNone, 0, e1, 0);
    auto n2 = buf.add(n1, 1, e2, 1);
    auto n3 = buf.add(n1, 1, e2, 1);  // a second branch over the same prefix and event
    CHECK(buf.live_events() == 2);
    CHECK(buf.live_nodes() == 3);
    buf.release(n1);  // the caller's own reference to the prefix
    CHECK(buf.live_nodes() == 3);  // still reachable from n2 and n3
    buf.release(n2);
    CHECK(buf.live_nodes() == 2);
    CHECK(buf.event(n3)->time == 2);
    CHECK(buf.event(buf.pred(n3))->time == 1);
    buf.release(n3);
    CHECK(buf.live_nodes() == 0);
    CHECK(buf.live_events() == 0);
}

TEST_CASE("nfa: partial matches share prefixes instead of copying events") {
    // a then b+ with `any` between repetitions: every subset of b2..b5 after b1 is a
    // branch (16), over 6 events stored once.
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b", .max = kUnbounded, .inner = Contiguity::Any}),
                              stage({.name = "z"})});
    Harness h(rule);
    h.run("a b1 b2 b3 b4 b5", false);
    CHECK(h.rt.partial_match_count() == 16);
    CHECK(h.rt.buffer().live_nodes() == 16 + 1);  // one node per (stage, event) step: a tree
    CHECK(h.rt.buffer().live_events() == 6);
}

TEST_CASE("nfa: max_partial_matches drops the oldest, counted") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b"})});
    rule->pattern.max_partial_matches = 3;
    Harness h(rule);
    h.run("a1 a2 a3 a4 a5 b1", false);
    CHECK(h.matches() == V{"a3 b1", "a4 b1", "a5 b1"});
    CHECK(h.rt.counters().dropped_partial_matches == 2);
}

TEST_CASE("nfa: max_keys drops the least recently updated key, counted") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b"})});
    rule->max_keys = 2;
    ManualClock clock;
    PatternRuntime rt(rule, clock);
    VectorAlertSink sink;
    rt.on_event(event("a", 1, "a1", "k1"), sink);
    rt.on_event(event("a", 2, "a2", "k2"), sink);
    rt.on_event(event("x", 3, "x", "k1"), sink);  // k1 is now the most recently updated
    rt.on_event(event("a", 4, "a3", "k3"), sink);  // evicts k2
    CHECK(rt.key_count() == 2);
    CHECK(rt.counters().dropped_keys == 1);
    rt.on_event(event("b", 5, "b1", "k1"), sink);
    rt.on_event(event("b", 6, "b2", "k2"), sink);
    rt.on_event(event("b", 7, "b3", "k3"), sink);
    CHECK(all_ids(sink.alerts) == V{"a1 b1", "a3 b3"});
}

TEST_CASE("nfa: describe_key and state_bytes show live state") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b"})});
    rule->pattern.within_ms = 100;
    ManualClock clock;
    PatternRuntime rt(rule, clock);
    VectorAlertSink sink;
    rt.on_event(event("a", 7, "a1", "k1", "", 42), sink);
    std::string d = rt.describe_key("k1");
    CHECK(d.find("at stage a") != std::string::npos);
    CHECK(d.find("a@7[0,42]") != std::string::npos);
    CHECK(d.find("deadline 107") != std::string::npos);
    CHECK(rt.describe_key("nope").find("no partial matches") != std::string::npos);
    CHECK(rt.state_bytes() > rt.state_bytes_without_events());
}

TEST_CASE("nfa: alerts carry kind, key, time of the last event, stage order and a stable id") {
    auto rule = pattern_rule({stage({.name = "first", .type = "a"}), stage({.name = "second", .type = "b"})});
    rule->severity = "high";
    Harness h1(rule);
    h1.push(event("a", 10, "a1", "c1", "", 1));
    h1.push(event("b", 20, "b1", "c1", "", 2));
    Harness h2(rule);
    h2.push(event("a", 10, "a1", "c1", "", 1));
    h2.push(event("b", 20, "b1", "c1", "", 2));
    REQUIRE(h1.sink.alerts.size() == 1);
    const Alert& a = h1.sink.alerts[0];
    CHECK(a.kind == "match");
    CHECK(a.key == "c1");
    CHECK(a.time == 20);
    CHECK(a.severity == "high");
    CHECK(a.rule == "r");
    REQUIRE(a.events.size() == 2);
    CHECK(a.events[0].first == "first");
    CHECK(a.events[1].first == "second");
    CHECK(a.id.size() == 16);
    CHECK(a.id == h2.sink.alerts[0].id);
}

TEST_CASE("nfa: throttle suppresses repeats per key in event time") {
    auto rule = pattern_rule({stage({.name = "a"})});
    rule->emit.throttle_ms = 10;
    Harness h(rule);
    for (int64_t t : {0, 5, 9, 10, 25}) h.push(event("a", t, "a" + std::to_string(t)));
    CHECK(h.matches() == V{"a0", "a10", "a25"});
}
