#pragma once
// The runtime of `window:` rules (SPEC 3.3): tumbling, hopping, sliding, session
// and count windows with incremental aggregates, `having` thresholds and
// `emit_when: on_close | on_update`. Semantics follow Kafka Streams; docs/windows.md
// is the rule author's description.
//
// Guarantees (on top of patterns/runtime.h):
//  - time windows are [start, end) aligned to the epoch and close when the
//    watermark reaches end + grace; a session closes when the watermark passes
//    end + gap + grace; an event for a closed window is late (on_late_event
//    returns false and the engine counts it);
//  - an event costs one evaluation of each aggregate argument plus constant work
//    per window it belongs to; closing windows costs O(log n) per window;
//  - alerts carry kind "window", window bounds and values; their ids are
//    deterministic (rule, version, key, bounds, and for on_update the window's
//    update number), so a replay raises the same ids as the daemon;
//  - at most rule.max_keys keys hold state: a new key evicts the least recently
//    updated one, approximately (its open windows are dropped unemitted, counted in
//    counters().dropped_keys).
// Failure modes: a rule whose aggregates cannot be planned (unknown function)
// raises nothing and counts one error per event; expression type errors count
// into counters().errors. Nothing on the per-event path throws.
#include <cstdint>
#include <limits>
#include <deque>
#include <memory>
#include <map>
#include <string>
#include <vector>

#include "patterns/aggregate.h"
#include "patterns/emit.h"
#include "patterns/key_ids.h"
#include "patterns/window_keys.h"
#include "patterns/runtime.h"

namespace vigil {

class WindowRuntime : public RuleRuntime {
public:
    WindowRuntime(RulePtr rule, const Clock& clock);

    void on_event(const EventPtr& ev, AlertSink& out) override;
    void on_watermark(int64_t watermark, AlertSink& out) override;
    bool on_late_event(const EventPtr& ev, AlertSink& out) override;
    size_t key_count() const override { return keys_.size(); }
    size_t state_bytes() const override;
    std::string describe_key(const std::string& key) const override;
    // Checkpoints (patterns/window_state_io.cpp, docs/state.md).
    void take_changes(StateDelta& out) override;
    bool restore_key(const std::string& key, std::string_view bytes, std::string* error) override;
    bool checkpointable() const override { return valid_; }
    bool adopt_state(RuleRuntime& from, std::string& why_not) override;  // patterns/adopt.cpp

    // False when the rule's aggregates could not be planned (see plan_error()).
    bool valid() const { return valid_; }
    const std::string& plan_error() const { return plan_error_; }

private:
    static constexpr int64_t kNoTimer = std::numeric_limits<int64_t>::min();
    // One open window of an add-only kind (tumbling, hopping, session, count).
    struct Window {
        explicit Window(const AggPlan& plan) : acc(plan) {}
        Window(const AggPlan& plan, std::vector<AggCell>&& cells) : acc(plan, std::move(cells)) {}
        int64_t start = 0;
        int64_t end = 0;         // exclusive for tumbling/hopping; last event time for session/count
        uint64_t ordinal = 0;    // count windows: index of the window within the key
        uint32_t updates = 0;    // alerts raised for it so far (on_update ids)
        Accumulator acc;
    };
    struct KeyState {
        std::string key;
        uint64_t id = 0;
        std::vector<Window> windows;  // sorted by start
        std::unique_ptr<SlidingAggregates> sliding;
        uint64_t evaluations = 0;    // sliding: evaluations so far (ids)
        int64_t timer_at = kNoTimer;  // sliding: the pending expiry timer
        uint64_t count_seen = 0;     // count: events taken so far
        uint64_t touched = 0;        // event sequence of the last update (eviction)
        bool dirty = false;          // changed since the last checkpoint (tracking only)
        bool stored = false;         // a checkpoint holds state for it (else erasing it needs no erase)
        size_t bytes() const;
        // As a new KeyState, keeping the windows' buffer (KeyIndex keeps erased ones for
        // the next keys).
        void recycle() {
            std::vector<Window> buffer = std::move(windows);
            buffer.clear();
            *this = KeyState();
            windows = std::move(buffer);
        }
    };
    // A window (key id, window start) to look at when the watermark reaches the
    // time it is filed under. Epoch-aligned windows share close times, so timers
    // are filed per time: scheduling one is a push_back, not a tree insert.
    struct Timer {
        uint64_t key_id;
        int64_t start;
    };

    // Each returns false when the event is late for every window it belongs to.
    bool add(const Event& ev, bool late, AlertSink& out);
    bool add_time(const Event& ev, AlertSink& out);
    bool add_session(const Event& ev, bool late, AlertSink& out);
    bool add_count(const Event& ev, bool late, AlertSink& out);
    bool add_sliding(const Event& ev, bool late, AlertSink& out);
    void take_samples(const Event& ev);
    // Which of `plan`'s numbers (Event::nums) each aggregate's argument is (plan_nums_).
    void map_plan_numbers(const ConditionPlan& plan);

    void advance(int64_t watermark, AlertSink& out);
    void fire(int64_t at, const Timer& t, AlertSink& out);
    void add_timer(int64_t at, uint64_t key_id, int64_t start) {
        timers_[at].push_back(Timer{key_id, start});
        ++timer_count_;
        due_ = std::min(due_, at);
    }
    int64_t close_at(const Window& w) const;
    void schedule(const KeyState& ks, const Window& w) { add_timer(close_at(w), ks.id, w.start); }

    // Windows come and go with every window period of every key: a closed window's
    // aggregate cells are kept (up to kSpareCells) and a new window takes them.
    static constexpr size_t kSpareCells = 4096;
    Window new_window() {
        if (spare_cells_.empty()) return Window(plan_);
        Window w(plan_, std::move(spare_cells_.back()));
        spare_cells_.pop_back();
        return w;
    }
    void retire(Window& w) {
        if (spare_cells_.size() < kSpareCells) spare_cells_.push_back(w.acc.release());
    }

    KeyState* key_state(const std::string& key, uint64_t hash);  // creates, evicting the LRU key when full
    KeyState* key_state(const std::string& key) { return key_state(key, index_hash(key)); }
    void evict_one();
    void erase_key(KeyState& ks);
    void erase_if_idle(KeyState& ks);
    void note_dirty(KeyState& ks) {
        if (ks.dirty) return;
        ks.dirty = true;
        dirty_ids_.push_back(ks.id);
    }
    void save_key(const KeyState& ks, std::string& out) const;

    // Evaluates `having`, applies the throttle and emits. `extra_id` makes ids of
    // several results of one window distinct.
    // `acc` or `sliding` holds the values (exactly one is set).
    void emit(const KeyState& ks, const Accumulator* acc, const SlidingAggregates* sliding, int64_t start,
              int64_t end, int64_t time, const std::string& extra_id, AlertSink& out);

    AggPlan plan_;
    bool valid_ = true;
    std::string plan_error_;
    // The last watermark this runtime was told or reached through an event's time; it
    // lags the engine's while no timer is due (runtime.h, due()).
    int64_t watermark_ = std::numeric_limits<int64_t>::min();
    int64_t step_start_ = std::numeric_limits<int64_t>::max();  // add_time: the last event's last window start
    bool whole_steps_ = true;  // tumbling/hopping: size is a multiple of the advance
    // The rule's window size, advance (tumbling: the size) and grace, read once for add_time().
    int64_t size_ms_ = 0, advance_ms_ = 0, grace_ms_ = 0;
    KeyIndex<KeyState> keys_;
    KeyIds<KeyState> by_id_;  // timers, age_ and dirty_ids_ name keys by id
    // Keys in order of creation as (key id, sequence when queued). Eviction gives a
    // key updated since it was queued a second chance (the CLOCK approximation of
    // least-recently-updated, without a list splice per event).
    std::deque<std::pair<uint64_t, uint64_t>> age_;
    uint64_t seq_ = 0;
    std::map<int64_t, std::vector<Timer>> timers_;  // in firing order within one time
    size_t timer_count_ = 0;
    Throttle throttle_;

    // The plan the events' numbers came from last, and aggregate i's number in it
    // (copies of an earlier argument resolved; -1: none).
    const ConditionPlan* nums_plan_ = nullptr;
    std::vector<int8_t> plan_nums_;
    uint8_t nums_needed_ = 0;  // the numbers' bits the aggregates take (0: none)
    bool nums_only_ = false;   // every aggregate: count()'s no argument or a number of nums_plan_
    // Scratch reused across events (no allocation once warm).
    std::vector<Sample> samples_;
    std::vector<std::vector<AggCell>> spare_cells_;  // new_window(), retire()
    std::vector<Value> values_;
    std::vector<JsonDoc> docs_;
    std::string scratch_;
    // Checkpoints: keys changed (by id; erased ids are skipped) and keys erased
    // since the last take_changes().
    std::vector<uint64_t> dirty_ids_;
    std::vector<std::string> gone_keys_;
};

std::unique_ptr<RuleRuntime> make_window_runtime(RulePtr rule, const Clock& clock);

}  // namespace vigil
