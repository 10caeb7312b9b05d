// Checkpoints over the compact pattern state (KeySlots, PodList, the dirty and
// stored flags packed into KeyState's heap_pos word) and the EventPool: a key that
// stays alive is re-saved after every change, restoring is not a change, and a
// pooled event the engine still holds (reorder buffer, partial matches) is never
// recycled under it. A window timer that changes nothing writes nothing.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "checkpoint_support.h"
#include "rules/event_pool.h"

using namespace vigil;
using namespace vigil::checkpoint_test;

TEST_CASE("checkpoint layout: a live key is saved again after each change, restoring is no change") {
    RuleSetPtr rules = load(kPairRule);
    TrackedEngine t(rules);
    PartitionEngine& engine = t.engine;
    ManualClock& clock = t.clock;
    engine.push(ev("k1", 1000, 1, "start"));
    engine.push(ev("k2", 1000, 2, "start"));
    engine.advance_watermark("s", 1000);
    StateDelta d = take(engine);
    REQUIRE(d.put.size() == 2);
    CHECK(take(engine).put.empty());

    // k1 exists: a second start adds a partial match, so k1 is written again.
    engine.push(ev("k1", 1100, 3, "start"));
    engine.push(ev("k1", 1150, 4, "x"));  // changes nothing but the sequence number
    engine.advance_watermark("s", 1150);
    d = take(engine);
    REQUIRE(d.put.size() == 1);
    CHECK(d.put[0].first == "k1");
    CHECK(d.erase.empty());
    RuleRuntime* rt = engine.runtime_for("pair", rules->rules[0]->version);
    REQUIRE(rt);
    const std::string k1_view = rt->describe_key("k1");
    const std::string k1_bytes = d.put[0].second;

    // A fresh engine restored from the bytes holds the same state and has nothing to write.
    VectorAlertSink sink2;
    PartitionEngine second(rules, {stream()}, clock, sink2);
    second.track_state_changes(true);
    std::vector<PartitionEngine::SavedRule> saved;
    size_t lost = 0;
    std::string error;
    REQUIRE_MESSAGE(second.restore_state(engine.save_state(), [](uint64_t) { return EventPtr(); }, saved, lost,
                                         &error),
                    error);
    RuleRuntime* rt2 = second.runtime_for("pair", rules->rules[0]->version);
    REQUIRE(rt2);
    REQUIRE_MESSAGE(rt2->restore_key("k1", k1_bytes, &error), error);
    second.finish_restore(saved);
    CHECK(rt2->key_count() == 1);
    CHECK(rt2->describe_key("k1") == k1_view);
    CHECK(take(second).put.empty());
    // ... and its first change is written, an emptied stored key erased.
    second.push(ev("k1", 1200, 5, "stop"));
    second.advance_watermark("s", 1200);
    CHECK(sink2.alerts.size() == 2);  // both starts pair with the stop (no_skip)
    d = take(second);
    CHECK(d.put.empty());
    REQUIRE(d.erase.size() == 1);
    CHECK(d.erase[0] == "k1");
}

TEST_CASE("checkpoint layout: the EventPool never recycles an event the engine still holds") {
    RuleSetPtr rules = load(kPairRule);
    TrackedEngine t(rules);
    PartitionEngine& engine = t.engine;
    VectorAlertSink& sink = t.sink;
    EventPool pool(4);
    // Eight starts for eight keys through a pool of four: the last ones stay in the
    // reorder buffer (watermark = max time - 500 ms), the earlier ones in partial matches.
    std::vector<const Event*> handed;
    for (int i = 0; i < 8; ++i) {
        std::shared_ptr<Event> e = pool.acquire();
        handed.push_back(e.get());
        fill(*e, "k" + std::to_string(i), 1000 + i * 100, uint64_t(i + 1), "start");
        engine.push(std::move(e));
    }
    CHECK(engine.buffered() > 0);
    // Every slot of the pool is still held, so each acquire is a new event.
    for (int i = 0; i < 8; ++i) {
        std::shared_ptr<Event> e = pool.acquire();
        for (const Event* h : handed) CHECK(e.get() != h);
        fill(*e, "other", 900, 100, "noise");  // would corrupt a held event
    }
    engine.advance_watermark("s", 5000);
    for (int i = 0; i < 8; ++i) engine.push(ev("k" + std::to_string(i), 6000, uint64_t(20 + i), "stop"));
    engine.flush();
    REQUIRE(sink.alerts.size() == 8);
    for (const auto& a : sink.alerts) CHECK(a.to_json().find("noise") == std::string::npos);
}

TEST_CASE("checkpoint layout: a stale session timer writes nothing, the closing one erases the key") {
    RuleSetPtr rules = load(R"(
rule: sess
stream: s
key: device
window: { type: session, gap: 2s }
aggregate:
  n: count()
)");
    TrackedEngine t(rules);
    PartitionEngine& engine = t.engine;
    VectorAlertSink& sink = t.sink;
    // The session grows from [1000] (close timer at 3001) to [1000, 2500] (4501):
    // the first timer goes stale.
    engine.push(ev("k1", 1000, 1, "x"));
    engine.push(ev("k1", 2500, 2, "x"));
    engine.advance_watermark("s", 2600);
    StateDelta d = take(engine);
    REQUIRE(d.put.size() == 1);
    engine.advance_watermark("s", 3500);  // fires the stale timer
    d = take(engine);
    CHECK(d.put.empty());
    CHECK(d.erase.empty());
    CHECK(sink.alerts.empty());
    engine.advance_watermark("s", 5000);  // closes the session
    REQUIRE(sink.alerts.size() == 1);
    d = take(engine);
    CHECK(d.put.empty());
    REQUIRE(d.erase.size() == 1);
    CHECK(d.erase[0] == "k1");
}
