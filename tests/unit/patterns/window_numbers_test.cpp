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
)");
    REQUIRE(rules->rules.size() == 2);
    const ConditionPlan plan(*rules);
    REQUIRE(plan.numbers() == 3);
    REQUIRE(plan.number_of("temp") == 0);  // the order of the plan is not the rule's
    ManualClock clock;
    VectorAlertSink with_sink, without_sink;
    auto with = make_runtime(rules->rules[1], clock), without = make_runtime(rules->rules[1], clock);
    int carried = 0;  // events that carry a number
    for (int i = 0; i < 600; ++i) {
        // temp sometimes a string or missing, label sometimes a string, value sometimes null.
        std::string json = "{\"value\": " + (i % 13 == 4 ? std::string("null") : std::to_string(i % 17 + 0.25)) +
                           (i % 7 == 2 ? "" : i % 7 == 3 ? ", \"temp\": \"hot\"" : ", \"temp\": " + std::to_string(i % 23 - 5)) +
                           ", \"label\": " + (i % 5 == 1 ? "\"x\"" : std::to_string(i % 3)) + "}";
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
