// Numbers read ahead of the window runtime (rules/precomputed.h, Event::nums): a
// runtime given events that carry them raises the same alerts, with the same values,
// as one that reads every argument itself, also where a member holds no number.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "patterns/runtime.h"
#include "rules/precomputed.h"
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
        ManualClock clock;
        VectorAlertSink with_sink, without_sink;
        auto with = make_runtime(rule, clock), without = make_runtime(rule, clock);
        int carried = 0;  // events that carry a number
        for (int i = 0; i < 600; ++i) {
            // temp sometimes a string or missing, label sometimes a string, value sometimes null.
            const std::string value = i % 13 == 4 ? "null" : std::to_string(i % 17 + 0.25);
            const std::string temp = i % 7 == 2   ? ""
                                     : i % 7 == 3 ? ", \"temp\": \"hot\""
                                                  : ", \"temp\": " + std::to_string(i % 23 - 5);
            const std::string label = i % 5 == 1 ? "\"x\"" : std::to_string(i % 3);
            const std::string json = "{\"value\": " + value + temp + ", \"label\": " + label + "}";
            auto a = std::make_shared<Event>(), b = std::make_shared<Event>();
            REQUIRE(a->doc.parse(json));
            REQUIRE(b->doc.parse(json));
            a->key = b->key = "k" + std::to_string(i % 3);
            a->time = b->time = 1767225600000 + i * 1000;
            plan.read_numbers(*a);
            carried += a->num_known != 0;
            with->on_event(a, with_sink);
            without->on_event(b, without_sink);
        }
        CHECK(carried > 500);
        with->on_watermark(INT64_MAX, with_sink);
        without->on_watermark(INT64_MAX, without_sink);
        REQUIRE(with_sink.alerts.size() == without_sink.alerts.size());
        CHECK(with_sink.alerts.size() > 20);
        for (size_t i = 0; i < with_sink.alerts.size(); ++i) {
            CHECK(with_sink.alerts[i].id == without_sink.alerts[i].id);
            CHECK(with_sink.alerts[i].values_json == without_sink.alerts[i].values_json);
        }
        CHECK(with->counters().errors == without->counters().errors);
    }
}
