// Good rule files parse into the expected Rule structs.
#include <doctest/doctest.h>

#include "loader_test_util.h"

using namespace vigil;
using vigil::test::load;

TEST_CASE("loader: the card-testing pattern of SPEC 3.2") {
    auto l = load(R"(rule: card-testing
description: three small payments then a big one
stream: transactions
key: card_id
tags: [fraud, cards]
pattern:
  - name: small
    where: amount < 2.00
    times: 3+
    inner: strict
    greedy: true
    until: amount > 100
  - name: big
    contiguity: relaxed
    where: amount > 500 && merchant != small[0].merchant
  - name: refund
    contiguity: strict
    not: true
within: 10m
within_type: previous_and_current
skip: to_last small
severity: high
max_partial_matches: 50
max_keys: 2000
late_topic: vigil/late
state_on_change: keep
emit:
  topic: alerts/{rule}/{key}
  timeouts: true
  throttle: 1h
  qos: 0
  payload:
    total: sum(small.amount) + big.amount
    card: big.card_id
)");
    REQUIRE(l.errors() == "");
    const Rule& r = l.rule();
    CHECK(r.id == "card-testing");
    CHECK(r.description == "three small payments then a big one");
    CHECK(r.stream == "transactions");
    REQUIRE(r.key.size() == 1);
    CHECK(r.key[0].text == "card_id");
    CHECK(r.tags == std::vector<std::string>{"fraud", "cards"});
    CHECK(r.severity == "high");
    CHECK(r.body == RuleBody::Pattern);
    CHECK(r.pos.line == 1);
    CHECK(r.pos.col == 7);
    const PatternSpec& p = r.pattern;
    REQUIRE(p.stages.size() == 3);
    CHECK(p.stages[0].name == "small");
    CHECK(p.stages[0].min_times == 3);
    CHECK(p.stages[0].max_times == kUnbounded);
    CHECK(p.stages[0].inner == Contiguity::Strict);
    CHECK(p.stages[0].greedy);
    REQUIRE(p.stages[0].where);
    CHECK(p.stages[0].where->source() == "amount < 2.00");
    REQUIRE(p.stages[0].until);
    CHECK(p.stages[1].contiguity == Contiguity::Relaxed);
    CHECK(p.stages[1].min_times == 1);
    CHECK(p.stages[1].max_times == 1);
    CHECK(p.stages[2].negated);
    CHECK(p.stages[2].contiguity == Contiguity::Strict);
    CHECK(p.stages[2].where == nullptr);
    CHECK(p.stages[1].pos.line == 13);
    REQUIRE(p.within_ms);
    CHECK(*p.within_ms == 600'000);
    CHECK(p.within_type == WithinType::PreviousAndCurrent);
    CHECK(p.skip == SkipStrategy::ToLast);
    CHECK(p.skip_stage == "small");
    CHECK(p.max_partial_matches == 50);
    CHECK(r.max_keys == 2000);
    CHECK(r.late_topic == "vigil/late");
    CHECK(r.state_on_change == StateOnChange::Keep);
    CHECK(r.emit.topic == "alerts/{rule}/{key}");
    CHECK(r.emit.timeouts);
    CHECK(r.emit.throttle_ms == 3'600'000);
    CHECK(r.emit.qos == 0);
    REQUIRE(r.emit.payload.size() == 2);
    CHECK(r.emit.payload[0].first == "total");
    CHECK(r.emit.payload[1].first == "card");
    REQUIRE(r.emit.payload[1].second);
    CHECK(r.version.size() == 8);
}

TEST_CASE("loader: times, optional and defaults") {
    auto l = load(R"(rule: r
stream: sensors
pattern:
  - name: a
  - name: b
    times: 2..4
    optional: true
  - name: c
    times: 3
)");
    REQUIRE(l.errors() == "");
    const auto& st = l.rule().pattern.stages;
    CHECK(st[0].min_times == 1);
    CHECK(st[0].max_times == 1);
    CHECK(st[0].contiguity == Contiguity::Relaxed);
    CHECK(st[1].min_times == 0);
    CHECK(st[1].max_times == 4);
    CHECK(st[1].optional);
    CHECK(st[2].min_times == 3);
    CHECK(st[2].max_times == 3);
    CHECK(l.rule().pattern.skip == SkipStrategy::NoSkip);
    CHECK(!l.rule().pattern.within_ms);
    CHECK(l.rule().severity == "medium");
    CHECK(l.rule().enabled);
    CHECK(l.rule().emit.qos == -1);
}

TEST_CASE("loader: the bearing-overheat window of SPEC 3.3") {
    auto l = load(R"(rule: bearing-overheat
stream: sensors
key: [site, device]
where: metric == "temperature"
window: { type: sliding, size: 5m }
grace: 30s
aggregate:
  avg_t: avg(value)
  n: count()
  peak: max( value * 2 )
having: avg_t > 90 && n >= 10
emit_when: on_update
emit:
  payload:
    average: avg_t
)");
    REQUIRE(l.errors() == "");
    const Rule& r = l.rule();
    CHECK(r.body == RuleBody::Window);
    REQUIRE(r.key.size() == 2);
    CHECK(r.key[1].text == "device");
    REQUIRE(r.where);
    const WindowSpec& w = r.window;
    CHECK(w.type == WindowType::Sliding);
    CHECK(w.size_ms == 300'000);
    CHECK(w.grace_ms == 30'000);
    REQUIRE(w.aggregates.size() == 3);
    CHECK(w.aggregates[0].name == "avg_t");
    CHECK(w.aggregates[0].function == "avg");
    REQUIRE(w.aggregates[0].arg);
    CHECK(w.aggregates[0].arg->source() == "value");
    CHECK(w.aggregates[1].function == "count");
    CHECK(w.aggregates[1].arg == nullptr);
    CHECK(w.aggregates[2].function == "max");
    REQUIRE(w.aggregates[2].arg);
    CHECK(w.aggregates[2].arg->source() == "value * 2");
    CHECK(w.aggregates[0].pos.line == 8);
    REQUIRE(w.having);
    CHECK(w.emit_when == EmitWhen::OnUpdate);
    REQUIRE(r.emit.payload.size() == 1);
}

TEST_CASE("loader: every window type") {
    auto l = load(R"(- {rule: t, stream: sensors, window: {type: tumbling, size: 1m}, aggregate: {n: count()}}
- {rule: h, stream: sensors, window: {type: hopping, size: 10m, advance: 1m}, aggregate: {n: count()}}
- {rule: s, stream: sensors, window: {type: session, gap: 30s}, aggregate: {n: count()}}
- {rule: c, stream: sensors, window: {type: count, size: 100, slide: 10}, aggregate: {n: count()}}
- {rule: c2, stream: sensors, window: {type: count, size: 100}, aggregate: {n: count()}}
)");
    REQUIRE(l.errors() == "");
    CHECK(l.rule(0).window.type == WindowType::Tumbling);
    CHECK(l.rule(0).window.size_ms == 60'000);
    CHECK(l.rule(1).window.type == WindowType::Hopping);
    CHECK(l.rule(1).window.advance_ms == 60'000);
    CHECK(l.rule(2).window.type == WindowType::Session);
    CHECK(l.rule(2).window.gap_ms == 30'000);
    CHECK(l.rule(3).window.type == WindowType::Count);
    CHECK(l.rule(3).window.count_size == 100);
    CHECK(l.rule(3).window.count_slide == 10);
    CHECK(l.rule(4).window.count_slide == 0);
    CHECK(l.rule(0).window.emit_when == EmitWhen::OnClose);
}

TEST_CASE("loader: a whole-rule Lua body and Lua helpers beside a pattern") {
    auto l = load(R"(rules:
  - rule: impossible-travel
    stream: transactions
    key: card_id
    lua: |
      function on_event(ev, state, ctx)
        state.last = ev.country
      end
  - rule: helper
    stream: transactions
    lua: |
      function big(x) return x > 100 end
    pattern:
      - name: a
)");
    REQUIRE(l.errors() == "");
    CHECK(l.rule(0).body == RuleBody::Lua);
    CHECK(l.rule(0).lua_source.find("function on_event(ev, state, ctx)") == 0);
    CHECK(l.rule(1).body == RuleBody::Pattern);
    CHECK(l.rule(1).lua_source == "function big(x) return x > 100 end\n");
}

TEST_CASE("loader: the three file shapes") {
    SUBCASE("one rule") {
        auto l = load("rule: a\nstream: sensors\npattern: [{name: x}]\n");
        REQUIRE(l.errors() == "");
        CHECK(l.rules.rules->rules.size() == 1);
    }
    SUBCASE("a list of rules") {
        auto l = load("- {rule: a, stream: sensors, pattern: [{name: x}]}\n"
                      "- {rule: b, stream: sensors, pattern: [{name: x}]}\n");
        REQUIRE(l.errors() == "");
        CHECK(l.rules.rules->rules.size() == 2);
        CHECK(l.rules.rules->find("b") != nullptr);
    }
    SUBCASE("rules: and tests:") {
        auto l = load("rules:\n  - {rule: a, stream: sensors, pattern: [{name: x}]}\n"
                      "tests:\n  - {name: t, rules: [a], events: [], expect: []}\n");
        REQUIRE(l.errors() == "");
        CHECK(l.rules.rules->rules.size() == 1);
        CHECK(l.rules.tests.size() == 1);
    }
    SUBCASE("an empty file") {
        auto l = load("# nothing yet\n");
        CHECK(l.errors() == "");
        REQUIRE(l.rules.rules);
        CHECK(l.rules.rules->rules.empty());
    }
}

TEST_CASE("loader: a *.test.yaml file holds only tests") {
    auto ok = load("tests:\n  - {name: t, events: [], expect: []}\n", test::two_streams(), "a.test.yaml");
    CHECK(ok.errors() == "");
    CHECK(ok.rules.tests.size() == 1);
    auto bad = load("rule: x\ntests: []\n", test::two_streams(), "a.test.yaml");
    CHECK(bad.errors() == "a.test.yaml:1:1: error: unknown key \"rule\" in test file (known keys: tests)\n");
}
