// Condition results evaluated ahead of the pattern runtime (rules/precomputed.h):
// a runtime given events that carry them raises the same alerts and counts the same
// as one that evaluates every condition itself, also where a key has no state and
// the event's start conditions all came false (the runtime then returns at once).
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "patterns/runtime.h"
#include "rules/precomputed.h"
#include "ahead_support.h"
#include "rules_support.h"

using namespace vigil;

TEST_CASE("pattern plan: events with condition results give the alerts and counters of events without") {
    RuleSetPtr rules = rules_test::load_yaml(R"(
rules:
  - rule: two
    pattern: [{name: a, where: value > 14}, {name: b, where: value > 12}]
    within: 1m
  - rule: optional-first
    pattern:
      - {name: a, where: value > 15, optional: true}
      - {name: b, where: label > 1}
      - {name: c, where: value < 2}
    within: 2m
  - rule: repeated
    pattern: [{name: h, where: value > 10, times: 3}]
    within: 1m
    skip: past_last_event
)");
    REQUIRE(rules->rules.size() == 3);
    const ConditionPlan plan(*rules);
    REQUIRE(plan.size() >= 4);
    std::string scratch;
    for (const RulePtr& rule : rules->rules) {
        CAPTURE(rule->id);
        rules_test::AheadTwins twins(rule);
        int carried = 0;  // events whose conditions came known
        for (int i = 0; i < 3000; ++i) {
            // label sometimes a string: `label > 1` is then a type error, left to the runtime.
            const std::string label = i % 9 == 4 ? "\"x\"" : std::to_string(i % 4);
            const std::string json = "{\"value\": " + std::to_string((i * 7) % 17) + ", \"label\": " + label + "}";
            const EventPtr ev = twins.feed(json, "k" + std::to_string(i % 5), 1767225600000 + i * 2000,
                                         [&](Event& e) { plan.evaluate(e, scratch); });
            carried += ev->cond_known != 0;
        }
        CHECK(carried > 2000);
        CHECK(twins.compare() > 10);
    }
}
