// Checkpoints over the compact pattern state (KeySlots, PodList, the dirty and
// stored flags packed into KeyState's heap_pos word) and the EventPool: a key that
// stays alive is re-saved after every change, restoring is not a change, and a
// pooled event the engine still holds (reorder buffer, partial matches) is never
// recycled under it.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "patterns/engine.h"
#include "rules/diagnostics.h"
#include "rules/event_pool.h"
#include "rules/rule_loader.h"

using namespace vigil;

namespace {

StreamSpec stream() {
    StreamSpec s;
    s.name = "s";
    s.max_out_of_order_ms = 500;
    s.idle_timeout_ms = 0;
    FieldPath p;
    FieldPath::parse("device", p, nullptr);
    s.key.push_back(p);
    return s;
}

RuleSetPtr pair_rule() {
    Diagnostics diags;
    LoadedRules lr = load_rules_text(R"(
rule: pair
stream: s
key: device
pattern:
  - name: a
    where: kind == "start"
  - name: b
    where: kind == "stop"
within: 10s
)",
                                     "layout.yaml", {stream()}, diags);
    INFO(diags.to_string());
    REQUIRE(lr.rules);
    return lr.rules;
}

void fill(Event& e, const std::string& key, int64_t t, uint64_t off, const std::string& kind) {
    e.key = key;
    e.time = t;
    e.ingest_time = t;
    e.offset = off;
    e.stream = "s";
    e.payload = R"({"device":")" + key + R"(","kind":")" + kind + R"("})";
    REQUIRE(e.doc.parse(e.payload));
}

EventPtr ev(const std::string& key, int64_t t, uint64_t off, const std::string& kind) {
    auto e = std::make_shared<Event>();
    fill(*e, key, t, off, kind);
    return e;
}

StateDelta take(PartitionEngine& engine) {
    StateDelta all;
    engine.take_state_changes([&](const Rule&, StateDelta& d) {
        all.put.insert(all.put.end(), d.put.begin(), d.put.end());
        all.erase.insert(all.erase.end(), d.erase.begin(), d.erase.end());
    });
    return all;
}

}  // namespace

TEST_CASE("checkpoint layout: a live key is saved again after each change, restoring is no change") {
    RuleSetPtr rules = pair_rule();
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine(rules, {stream()}, clock, sink);
    engine.track_state_changes(true);
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
    RuleSetPtr rules = pair_rule();
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine(rules, {stream()}, clock, sink);
    engine.track_state_changes(true);
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
