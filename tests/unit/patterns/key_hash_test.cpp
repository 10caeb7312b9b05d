// Events that carry their key's hash (extract_event, event_meta_from_record) and
// events that do not reach the same state in the window and pattern runtimes: the
// runtimes hash the key themselves only when the event has no hash.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "patterns/runtime.h"
#include "rules_support.h"

using namespace vigil;

TEST_CASE("keys: an event's carried key hash finds the state that hashing its key finds") {
    RuleSetPtr rules = rules_test::load_yaml(R"(
rules:
  - {rule: w, window: {type: tumbling, size: 1m}, aggregate: {n: count()}}
  - {rule: p, pattern: [{name: a, where: v > 0}, {name: b, where: v > 0}], within: 1h}
)");
    REQUIRE(rules->rules.size() == 2);
    for (const RulePtr& rule : rules->rules) {
        CAPTURE(rule->id);
        ManualClock clock;
        VectorAlertSink sink;
        auto runtime = make_runtime(rule, clock);
        // Keys k0..k4, every other event with the hash; each key sees both kinds.
        for (int i = 0; i < 40; ++i) {
            auto ev = std::make_shared<Event>();
            REQUIRE(ev->doc.parse(R"({"v": 1})"));
            ev->key = "k" + std::to_string(i % 5);
            ev->time = 1767225600000 + i * 100;
            if ((i / 5) % 2 == 0) hash_event_key(*ev);
            CHECK(event_key_hash(*ev) == index_hash(ev->key));
            runtime->on_event(ev, sink);
        }
        CHECK(runtime->key_count() == 5u);
        for (int k = 0; k < 5; ++k) {
            const std::string d = runtime->describe_key("k" + std::to_string(k));
            CHECK_MESSAGE(d.rfind("no ", 0) != 0, d);
        }
    }
}
