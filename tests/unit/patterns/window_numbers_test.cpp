// Numbers read ahead of the window runtime (rules/precomputed.h, Event::nums): a
// runtime given events that carry them raises the same alerts, with the same values,
// as one that reads every argument itself, also where a member holds no number.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "patterns/runtime.h"
#include "rules/precomputed.h"
#include "ahead_support.h"
#include "rules_support.h"

using namespace vigil;

TEST_CASE("window numbers: events with numbers read ahead give the alerts and values of events without") {
    RuleSetPtr rules = rules_test::load_yaml(R"(
rules:
  - rule: other
    window: {type: tumbling, size: 1m}
    aggregate: {t: sum(temp)}
  - rule: w
    window: {type: hopping, size: 2m, advance: 1m}
    aggregate: {a: avg(value), hi: max(temp), lo: min(temp), s: sum(label), l: last(label), n: count(), v2: sum(value)}
  - rule: numbers-only
    window: {type: tumbling, size: 1m}
    aggregate: {n: count(), a: avg(value), hi: max(value), lo: min(value), t: sum(temp), s: stddev(label)}
)");
    REQUIRE(rules->rules.size() == 3);
    const ConditionPlan plan(*rules);
    REQUIRE(plan.numbers() == 3);
    REQUIRE(plan.number_of("temp") == 0);  // the order of the plan is not the rule's
    // w reads text (last) and so evaluates through make_samples(); numbers-only takes
    // every argument from the numbers (when the event carries all it needs).
    for (const RulePtr& rule : {rules->rules[1], rules->rules[2]}) {
        CAPTURE(rule->id);
        rules_test::AheadTwins twins(rule);
        int carried = 0;  // events that carry a number
        for (int i = 0; i < 600; ++i) {
            // temp sometimes a string or missing, label sometimes a string, value sometimes null.
            const std::string value = i % 13 == 4 ? "null" : std::to_string(i % 17 + 0.25);
            const std::string temp = i % 7 == 2   ? ""
                                     : i % 7 == 3 ? ", \"temp\": \"hot\""
                                                  : ", \"temp\": " + std::to_string(i % 23 - 5);
            const std::string label = i % 5 == 1 ? "\"x\"" : std::to_string(i % 3);
            const std::string json = "{\"value\": " + value + temp + ", \"label\": " + label + "}";
            const EventPtr ev = twins.feed(json, "k" + std::to_string(i % 3), 1767225600000 + i * 1000,
                                         [&](Event& e) { plan.read_numbers(e); });
            carried += ev->num_known != 0;
        }
        CHECK(carried > 500);
        CHECK(twins.compare() > 20);
    }
}
