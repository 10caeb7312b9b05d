// Keyed-state checkpoints (docs/state.md): a run interrupted after two checkpoints
// and restored into a fresh engine raises exactly the alerts (ids and contents)
// of an uninterrupted run, for each runtime kind.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "checkpoint_support.h"

using namespace vigil;
using namespace vigil::checkpoint_test;

namespace {

// Events of 12 devices, ~100 ms apart, out of order by up to 400 ms.
std::vector<EventPtr> make_events(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<EventPtr> out;
    const char* kinds[] = {"start", "stop", "x", "x"};
    for (size_t i = 0; i < n; ++i) {
        auto e = std::make_shared<Event>();
        e->offset = i + 1;
        e->partition = 0;
        e->time = 1'000'000 + int64_t(i) * 100 - int64_t(rng() % 400);
        e->ingest_time = e->time;
        e->stream = "s";
        e->topic = "t/" + std::to_string(rng() % 12);
        e->key = "d" + std::to_string(rng() % 12);
        std::string kind = kinds[rng() % 4];
        const std::string payload_text =
            R"({"device":")" + e->key + R"(","value":)" + std::to_string(rng() % 100) + R"(,"kind":")" + kind + R"("})";
        REQUIRE(e->doc.parse(payload_text));
        out.push_back(e);
    }
    return out;
}

std::map<std::string, std::string> by_id(const std::vector<Alert>& alerts) {
    std::map<std::string, std::string> m;
    for (const auto& a : alerts) m[a.id] = a.to_json();
    return m;
}

using Store = std::map<std::pair<std::string, std::string>, std::string>;  // (rule, key) -> bytes

void checkpoint(PartitionEngine& engine, Store& store, std::string& engine_bytes) {
    engine.take_state_changes([&](const Rule& r, StateDelta& d) {
        for (const auto& k : d.erase) store.erase({r.id, k});
        for (auto& [k, v] : d.put) store[{r.id, k}] = v;
    });
    engine_bytes = engine.save_state();
}

// Runs `events` uninterrupted and interrupted (checkpoints at 40% and 55%, crash
// at 70%: the alerts after the last checkpoint are lost with the process) and
// compares the alerts.
void round_trip(const std::string& yaml, size_t n = 3000, uint32_t seed = 7) {
    RuleSetPtr rules = load(yaml);
    auto events = make_events(n, seed);
    ManualClock clock;
    clock.now = 42;

    VectorAlertSink whole_sink;
    PartitionEngine whole(rules, {stream()}, clock, whole_sink);
    for (const auto& e : events) whole.push(e);
    whole.flush();

    VectorAlertSink first_sink;
    PartitionEngine first(rules, {stream()}, clock, first_sink);
    first.track_state_changes(true);
    Store store;
    std::string engine_bytes;
    size_t cp1 = n * 40 / 100, cp2 = n * 55 / 100, crash = n * 70 / 100;
    size_t committed_alerts = 0;
    for (size_t i = 0; i < crash; ++i) {
        first.push(events[i]);
        if (i + 1 == cp1 || i + 1 == cp2) {
            checkpoint(first, store, engine_bytes);
            committed_alerts = first_sink.alerts.size();
        }
    }
    first_sink.alerts.resize(committed_alerts);

    VectorAlertSink second_sink;
    PartitionEngine second(rules, {stream()}, clock, second_sink);
    std::vector<PartitionEngine::SavedRule> saved;
    size_t lost = 0;
    std::string error;
    auto fetch = [&](uint64_t off) { return off >= 1 && off <= events.size() ? events[off - 1] : nullptr; };
    REQUIRE_MESSAGE(second.restore_state(engine_bytes, fetch, saved, lost, &error), error);
    CHECK(lost == 0);
    CHECK(saved.size() == rules->rules.size());
    size_t restored = 0;
    for (const auto& [rk, bytes] : store) {
        RuleRuntime* rt = nullptr;
        for (const auto& s : saved)
            if (s.id == rk.first) rt = second.runtime_for(s.id, s.version);
        REQUIRE(rt);
        REQUIRE_MESSAGE(rt->restore_key(rk.second, bytes, &error), error);
        ++restored;
    }
    second.finish_restore(saved);
    for (size_t i = cp2; i < n; ++i) second.push(events[i]);
    second.flush();

    auto expected = by_id(whole_sink.alerts);
    REQUIRE(expected.size() > 5);  // the workload raises alerts at all
    auto got = by_id(first_sink.alerts);
    for (const auto& [id, json] : by_id(second_sink.alerts)) got[id] = json;
    CHECK(restored > 0);
    CHECK(got.size() == expected.size());
    for (const auto& [id, json] : expected) {
        auto it = got.find(id);
        INFO("alert " << json);
        REQUIRE(it != got.end());
        CHECK(it->second == json);
    }
    // No alert twice in the restored run (none re-raised from restored state).
    CHECK(first_sink.alerts.size() + second_sink.alerts.size() == expected.size());
}

}  // namespace

TEST_CASE("checkpoint: pattern with quantifiers and within") {
    round_trip(R"(
rule: quant
stream: s
key: device
pattern:
  - name: hot
    where: value > 60
    times: 2+
  - name: cool
    where: value < 20
within: 3s
emit:
  timeouts: true
)");
}

TEST_CASE("checkpoint: pattern with any contiguity, optional stage and absence") {
    round_trip(R"(
rules:
  - rule: combos
    stream: s
    key: device
    pattern:
      - name: a
        where: kind == "start"
      - name: b
        where: value > 50
        contiguity: any
        times: 2
      - name: c
        where: kind == "stop"
        optional: true
    within: 2s
  - rule: absence
    stream: s
    key: device
    pattern:
      - name: start
        where: kind == "start"
      - name: stop
        where: kind == "stop"
        not: true
    within: 1500ms
)");
}

TEST_CASE("checkpoint: tumbling and hopping windows") {
    round_trip(R"(
rules:
  - rule: tumbling
    stream: s
    key: device
    window: { type: tumbling, size: 2s }
    grace: 200ms
    aggregate:
      n: count()
      avg_v: avg(value)
      sd: stddev(value)
      kinds: distinct(kind)
      vals: collect(value)
      first_k: first(kind)
  - rule: hopping
    stream: s
    key: device
    window: { type: hopping, size: 3s, advance: 1s }
    aggregate:
      n: count()
      mx: max(value)
    having: n >= 2
    emit_when: on_update
)");
}

TEST_CASE("checkpoint: session, sliding and count windows") {
    round_trip(R"(
rules:
  - rule: session
    stream: s
    key: device
    where: kind == "start"
    window: { type: session, gap: 1500ms }
    aggregate:
      n: count()
      sum_v: sum(value)
  - rule: sliding
    stream: s
    key: device
    window: { type: sliding, size: 2s }
    aggregate:
      n: count()
      mn: min(value)
      mx: max(value)
      avg_v: avg(value)
      last_k: last(kind)
      kinds: distinct(kind)
    having: n >= 3 && mx > 90
  - rule: counted
    stream: s
    key: device
    window: { type: count, size: 5, slide: 2 }
    aggregate:
      avg_v: avg(value)
)");
}

TEST_CASE("checkpoint: Lua state and timers") {
    round_trip(R"(
rule: lua-count
stream: s
key: device
lua: |
  function on_event(ev, state, ctx)
    state.n = (state.n or 0) + 1
    state.seen = state.seen or {}
    state.seen[ev.kind] = (state.seen[ev.kind] or 0) + 1
    if state.n % 7 == 0 then ctx.emit{ n = state.n, starts = state.seen.start } end
    if ev.value > 95 then ctx.set_timer(ctx.now() + 1000) end
  end
  function on_timer(key, state, ctx)
    ctx.emit{ timer = true, n = state.n }
  end
)");
}

TEST_CASE("checkpoint: only changed keys are written, emptied keys are erased") {
    RuleSetPtr rules = load(kPairRule);
    TrackedEngine t(rules);
    PartitionEngine& engine = t.engine;
    VectorAlertSink& sink = t.sink;
    engine.push(ev("k1", 1000, 1, "start"));
    engine.push(ev("k2", 1100, 2, "start"));
    engine.advance_watermark("s", 1100);
    StateDelta d = take(engine);
    CHECK(d.put.size() == 2);
    CHECK(d.erase.empty());
    CHECK(take(engine).put.empty());  // nothing changed since
    engine.push(ev("k1", 1200, 3, "stop"));  // completes k1: its state is empty
    engine.advance_watermark("s", 1200);
    d = take(engine);
    CHECK(sink.alerts.size() == 1);
    REQUIRE(d.erase.size() == 1);
    CHECK(d.erase[0] == "k1");
    CHECK(d.put.empty());
    // Malformed bytes are refused, not trusted.
    std::string err;
    RuleRuntime* rt = engine.runtime_for("pair", rules->rules[0]->version);
    REQUIRE(rt);
    CHECK_FALSE(rt->restore_key("k9", "\x01\x05", &err));
    CHECK_FALSE(err.empty());
    CHECK_FALSE(rt->restore_key("k9", "", &err));
}
