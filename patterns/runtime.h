#pragma once
// The per-rule runtime interface and the clock the runtimes run on.
//
// A RuleRuntime holds one rule's keyed state (partial matches, windows, Lua state)
// for one partition. The engine (patterns/engine.h) guarantees:
//  - on_event() receives events of the rule's stream that passed the rule's `where`,
//    per key in event-time order (ties in arrival order), and only events whose time
//    is >= the watermark at the moment they were released;
//  - when on_event(ev) is called, every earlier-timed event of that partition and
//    stream has been delivered, and the watermark is >= ev.time, so a runtime may
//    fire its own timers that fall before ev.time first;
//  - on_watermark(wm) is called after the watermark advances (never backwards), but
//    only once wm reaches due() (see below); before on_late_event() the runtime is
//    always told the current watermark first;
//  - on_late_event() receives events older than the watermark; a runtime that can
//    still use them (a window within its grace) returns true, else false and the
//    engine counts the event as late for this rule.
// Runtimes never read the wall clock: `now` values come from the Clock.
// Thread rules: a runtime is used by one worker thread at a time.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "patterns/alert.h"
#include "rules/rule.h"

namespace vigil {

// Wall time for detected_at; virtual in replay and tests.
class Clock {
public:
    virtual ~Clock() = default;
    virtual int64_t now_ms() const = 0;
};

class SystemClock : public Clock {
public:
    int64_t now_ms() const override;
};

class ManualClock : public Clock {
public:
    int64_t now_ms() const override { return now; }
    int64_t now = 0;
};

// What changed in a runtime's keyed state since the last take_changes():
// each changed key's serialized state, and the keys whose state is gone.
struct StateDelta {
    std::vector<std::pair<std::string, std::string>> put;
    std::vector<std::string> erase;
    void clear() {
        put.clear();
        erase.clear();
    }
};

struct RuleCounters {
    uint64_t evaluations = 0;
    uint64_t matches = 0;
    uint64_t late_events = 0;
    uint64_t errors = 0;
    uint64_t dropped_partial_matches = 0;
    uint64_t dropped_keys = 0;
};

class RuleRuntime {
public:
    virtual ~RuleRuntime() = default;
    virtual void on_event(const EventPtr& ev, AlertSink& out) = 0;
    virtual void on_watermark(int64_t watermark, AlertSink& out) = 0;
    virtual bool on_late_event(const EventPtr& /*ev*/, AlertSink& /*out*/) { return false; }
    // Keys with live state, and a rough byte count of that state.
    virtual size_t key_count() const = 0;
    virtual size_t state_bytes() const = 0;
    // A human-readable view of one key's state ("why didn't this fire?").
    virtual std::string describe_key(const std::string& key) const = 0;
    // `state_on_change: keep` (patterns/adopt.h, docs/reload.md): this fresh runtime of
    // a rule's new version takes over the state of `from`, the runtime of its previous
    // version, when state_compatible() allows; `from` is left empty. False with the
    // reason otherwise; the caller then discards this runtime and builds a fresh one.
    // The default (a runtime kind that cannot) refuses. Defined in patterns/adopt.cpp.
    virtual bool adopt_state(RuleRuntime& from, std::string& why_not);

    // ---- checkpoints (docs/state.md; codecs in patterns/*_state_io.cpp over
    // patterns/state_codec.h) ----
    // While tracking, the runtime notes each key whose state changes (an event,
    // a timer, an eviction). Off by default: untracked runtimes note nothing.
    void track_changes(bool on) { tracking_ = on; }
    bool tracking() const { return tracking_; }
    // Appends to `out` the bytes of every key changed since the last call (or since
    // tracking began) and the keys whose state went away, then forgets them. A
    // runtime without keyed checkpoints (checkpointable() false) appends nothing.
    virtual void take_changes(StateDelta& /*out*/) {}
    // Replaces `key`'s state with bytes from take_changes() of a runtime of the
    // same rule id and version. False (with a reason) for malformed bytes; the key
    // is then left without state. After restoring every key, the engine calls
    // on_watermark() with the watermark the runtime had seen.
    virtual bool restore_key(const std::string& /*key*/, std::string_view /*bytes*/, std::string* error) {
        if (error) *error = "this rule kind has no checkpointed state";
        return false;
    }
    virtual bool checkpointable() const { return false; }

    const Rule& rule() const { return *rule_; }
    const RuleCounters& counters() const { return counters_; }

    // The smallest watermark at which on_watermark() would do anything (its earliest
    // timer). The engine skips the advances below it: a runtime that keeps due_
    // promises that an advance below due() changes nothing it does, since every event
    // it receives through on_event() is at or after the watermark it was last told,
    // and it sets no timer at or before an event's time. The default, INT64_MIN,
    // asks for every advance.
    int64_t due() const { return due_; }

protected:
    RuleRuntime(RulePtr rule, const Clock& clock) : rule_(std::move(rule)), clock_(clock) {}
    RulePtr rule_;
    const Clock& clock_;
    RuleCounters counters_;
    bool tracking_ = false;
    int64_t due_ = INT64_MIN;
};

// Builds the runtime for a rule's body (pattern, window or Lua).
std::unique_ptr<RuleRuntime> make_runtime(RulePtr rule, const Clock& clock);

}  // namespace vigil
