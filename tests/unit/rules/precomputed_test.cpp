// ConditionPlan: which stage conditions are evaluated ahead of the engine, and the
// results an event carries (a condition that counted an error carries none).
#include <doctest/doctest.h>

#include "expr_test_util.h"
#include "rules/precomputed.h"
#include "rules/rule_loader.h"

namespace vigil::test {

namespace {

const char* kRules = R"(
rules:
  - rule: hot
    pattern:
      - {name: a, where: value > 90}
      - {name: b, where: value > a.value}
    within: 1m
  - rule: labels
    pattern:
      - {name: s, where: 'label > 3 && lower(site) == "north"'}
      - {name: t, where: '$key == "d1"'}
      - {name: u}
    within: 1m
  - rule: gated
    where: kind == "t"
    pattern:
      - {name: g, where: value > 10}
  - rule: gated-by-number
    where: value > 50
    pattern:
      - {name: h, where: value < 60}
  - rule: gated-by-key
    where: $key == "k1"
    pattern:
      - {name: i, where: value < 70}
  - rule: windowed
    where: value > 1
    window: {type: tumbling, size: 1m}
    aggregate: {n: count()}
)";

RuleSetPtr load() {
    Diagnostics d;
    LoadedRules l = load_rules_text(kRules, "rules.yaml", {}, d);
    REQUIRE_MESSAGE(l.rules, d.to_string());
    return l.rules;
}

}  // namespace

TEST_CASE("precomputed conditions: the stages' payload-only conditions, each with a bit") {
    RuleSetPtr rules = load();
    ConditionPlan plan(*rules);
    const auto& hot = rules->rules[0]->pattern.stages;
    const auto& labels = rules->rules[1]->pattern.stages;
    REQUIRE(plan.size() == 5);
    CHECK(plan.bit_of(hot[0].where.get()) == 0);
    CHECK(plan.bit_of(hot[1].where.get()) == -1);     // reads another stage
    CHECK(plan.bit_of(labels[0].where.get()) == 1);   // functions are fine
    CHECK(plan.bit_of(labels[1].where.get()) == -1);  // reads $key
    CHECK(plan.bit_of(rules->rules[5]->where.get()) == -1);  // a rule's where: not a stage's

    // Bits 2..4: the stages of the gated rules, known only where their rule's
    // `where` passes; a `where` on $key gates nothing (it is the engine's to read).
    std::string scratch;
    auto ev = event(R"({"value": 95, "label": 4, "site": "NORTH"})");
    plan.evaluate(*ev, scratch);
    CHECK(ev->cond_plan == &plan);
    CHECK(ev->cond_known == 0b11011);
    CHECK(ev->cond_true == 0b00011);

    ev = event(R"({"value": 55, "label": 4, "site": "south", "kind": "t"})");
    plan.evaluate(*ev, scratch);
    CHECK(ev->cond_known == 0b11111);
    CHECK(ev->cond_true == 0b11100);

    // `label > 3` on a string is a type error: no result, so the runtime evaluates
    // it again and counts the error. A missing member is no error: false.
    ev = event(R"({"value": 91, "label": "x", "site": "north", "kind": 7})");
    plan.evaluate(*ev, scratch);
    CHECK(ev->cond_known == 0b11001);
    CHECK(ev->cond_true == 0b00001);
    ev = event(R"({"site": "north"})");
    plan.evaluate(*ev, scratch);
    CHECK(ev->cond_known == 0b10011);
    CHECK(ev->cond_true == 0b00000);
}

TEST_CASE("precomputed conditions: only the stages a runtime tests for every event") {
    Diagnostics d;
    LoadedRules l = load_rules_text(R"(
rules:
  - rule: two
    pattern: [{name: a, where: value > 1}, {name: b, where: value > 2}]
  - rule: optional-first
    pattern:
      - {name: a, where: value > 3, optional: true}
      - {name: b, where: value > 4, times: 2}
      - {name: c, where: value > 5}
  - rule: repeated
    pattern: [{name: a, where: value > 6, times: 2}, {name: b, where: value > 7}]
  - rule: keyed-first
    pattern: [{name: a, where: '$key == "k"', optional: true}, {name: b, where: value > 8}, {name: c, where: value > 9}]
)",
                                    "rules.yaml", {}, d);
    REQUIRE_MESSAGE(l.rules, d.to_string());
    ConditionPlan plan(*l.rules);
    auto where = [&](size_t r, size_t st) { return l.rules->rules[r]->pattern.stages[st].where.get(); };
    // Later stages are asked only of keys with a partial match: the runtime's.
    CHECK(plan.bit_of(where(0, 0)) >= 0);
    CHECK(plan.bit_of(where(0, 1)) == -1);
    // After an optional stage the next one starts matches too.
    CHECK(plan.bit_of(where(1, 0)) >= 0);
    CHECK(plan.bit_of(where(1, 1)) >= 0);
    CHECK(plan.bit_of(where(1, 2)) == -1);
    CHECK(plan.bit_of(where(2, 0)) >= 0);
    CHECK(plan.bit_of(where(2, 1)) == -1);
    // A first stage that is not evaluated ahead still counts as one.
    CHECK(plan.bit_of(where(3, 0)) == -1);
    CHECK(plan.bit_of(where(3, 1)) >= 0);
    CHECK(plan.bit_of(where(3, 2)) == -1);
    CHECK(plan.size() == 5);
}

TEST_CASE("precomputed numbers: the members window aggregates take, each read once") {
    Diagnostics d;
    LoadedRules l = load_rules_text(R"(
rules:
  - rule: w1
    window: {type: tumbling, size: 1m}
    aggregate: {a: avg(value), hi: max(value), n: count(), t: sum(temp), x: sum(value * 2), d: sum(nested.v)}
  - rule: w2
    window: {type: hopping, size: 2m, advance: 1m}
    aggregate: {lo: min(temp), l: last(label), c: count(label)}
  - rule: w3
    window: {type: tumbling, size: 1m}
    aggregate: {e: sum(extra), f: sum(fifth)}
  - rule: p
    pattern: [{name: a, where: other > 1}]
)",
                                    "rules.yaml", {}, d);
    REQUIRE_MESSAGE(l.rules, d.to_string());
    ConditionPlan plan(*l.rules);
    // value, temp, label, extra: bare members only (not `value * 2` or `nested.v`), each
    // once, at most Event::kNumbers of them (`fifth` is left to the runtime).
    REQUIRE(plan.numbers() == Event::kNumbers);
    CHECK(plan.number_of("value") == 0);
    CHECK(plan.number_of("temp") == 1);
    CHECK(plan.number_of("label") == 2);
    CHECK(plan.number_of("extra") == 3);
    CHECK(plan.number_of("fifth") == -1);
    CHECK(plan.number_of("other") == -1);
    CHECK(plan.number_of("nested") == -1);

    auto ev = event(R"({"value": 7.5, "temp": -3, "label": "x", "nested": {"v": 1}})");
    ev->cond_known = ev->cond_true = 5;  // (a recycled event's)
    plan.read_numbers(*ev);
    CHECK(ev->cond_plan == &plan);
    CHECK(ev->cond_known == 0);  // no condition results: the runtime evaluates them
    CHECK(ev->cond_true == 0);
    CHECK(ev->num_known == 0b0011);  // a string and a missing member: none
    CHECK(ev->nums[0] == 7.5);
    CHECK(ev->nums[1] == -3);

    // Read with the conditions too, and a null or a non-number is no number.
    std::string scratch;
    ev = event(R"({"value": null, "temp": true, "label": 4, "extra": 1e3})");
    plan.evaluate(*ev, scratch);
    CHECK(ev->num_known == 0b1100);
    CHECK(ev->nums[2] == 4);
    CHECK(ev->nums[3] == 1000);

    // A rule set without window aggregates reads none.
    CHECK(ConditionPlan(*load()).numbers() == 0);
}

}  // namespace vigil::test
