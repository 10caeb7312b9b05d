#pragma once
// Helpers for the checkpoint unit tests: stream "s" keyed by `device`, rules from
// YAML through the real loader, small events, and one engine's state changes
// collected across its rules.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "patterns/engine.h"
#include "rules_support.h"

namespace vigil::checkpoint_test {

inline StreamSpec stream() {
    StreamSpec s = rules_test::stream_s("device", 500);
    s.idle_timeout_ms = 0;
    return s;
}

inline RuleSetPtr load(const std::string& yaml) { return rules_test::load_yaml(yaml, {stream()}, "checkpoint.yaml"); }

// "a" (kind start) then "b" (kind stop) within 10 s, per device.
inline const char* const kPairRule = R"(
rule: pair
stream: s
key: device
pattern:
  - name: a
    where: kind == "start"
  - name: b
    where: kind == "stop"
within: 10s
)";

inline void fill(Event& e, const std::string& key, int64_t t, uint64_t off, const std::string& kind) {
    e.key = key;
    e.time = t;
    e.ingest_time = t;
    e.offset = off;
    e.stream = "s";
    const std::string payload_text = R"({"device":")" + key + R"(","kind":")" + kind + R"("})";
    REQUIRE(e.doc.parse(payload_text));
}

inline EventPtr ev(const std::string& key, int64_t t, uint64_t off, const std::string& kind) {
    auto e = std::make_shared<Event>();
    fill(*e, key, t, off, kind);
    return e;
}

// An engine over `rules` on stream "s", tracking its state changes for checkpoints.
struct TrackedEngine {
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine;
    explicit TrackedEngine(RuleSetPtr rules) : engine(std::move(rules), {stream()}, clock, sink) {
        engine.track_state_changes(true);
    }
};

// Every rule's changes since the last call, in one delta.
inline StateDelta take(PartitionEngine& engine) {
    StateDelta all;
    engine.take_state_changes([&](const Rule&, StateDelta& d) {
        all.put.insert(all.put.end(), d.put.begin(), d.put.end());
        all.erase.insert(all.erase.end(), d.erase.begin(), d.erase.end());
    });
    return all;
}

}  // namespace vigil::checkpoint_test
