#pragma once
// The pattern runtime (SPEC 3.2): an NFA over a rule's stages with Flink CEP's
// semantics, one instance per rule and partition.
//
// Guarantees, on top of patterns/runtime.h:
//  - contiguity strict (next) / relaxed (followedBy, skip till next match) / any
//    (followedByAny, skip till any match) between stages and, via `inner`, between
//    the repetitions of a looping stage (strict = consecutive(), any =
//    allowCombinations()); evaluated edge by edge as Flink's NFA does: a relaxed
//    edge ignores an event only when its condition is false, `any` always may;
//  - quantifiers N, N..M, N+, optional, greedy (a greedy loop that takes an event
//    does not also proceed past it, so only the longest runs match; a non-greedy
//    loop also waits at the next stage with what it has), `until` closes a loop;
//  - `not` stages: strict = notNext, relaxed/any = notFollowedBy; a final `not`
//    stage completes when the watermark reaches the `within` deadline (absence);
//  - `within` first_and_last / previous_and_current: an event at or after the
//    deadline cannot extend a match; partial matches are pruned (or emitted as
//    `timeout` alerts with `emit.timeouts`) once the watermark reaches it;
//  - after-match skip: no_skip, to_next, past_last_event, to_first S, to_last S, with
//    Flink's pruning rules; matches completed by the same event are emitted in
//    order of their first event;
//  - bounded state: at most pattern.max_partial_matches per key (the oldest is
//    dropped) and rule.max_keys keys (the least recently updated key is dropped);
//    both are counted and logged at a bounded rate.
// Failure modes: a condition that errors is false (counted in counters().errors).
// Thread rules: one thread at a time.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "patterns/emit.h"
#include "patterns/key_slots.h"
#include "patterns/pod_list.h"
#include "patterns/runtime.h"
#include "patterns/shared_buffer.h"

namespace vigil {

std::unique_ptr<RuleRuntime> make_pattern_runtime(RulePtr rule, const Clock& clock);

class PatternRuntime final : public RuleRuntime {
public:
    PatternRuntime(RulePtr rule, const Clock& clock);
    ~PatternRuntime() override;

    void on_event(const EventPtr& ev, AlertSink& out) override;
    void on_watermark(int64_t watermark, AlertSink& out) override;
    size_t key_count() const override { return key_index_.size(); }
    size_t state_bytes() const override;
    std::string describe_key(const std::string& key) const override;
    // Checkpoints (patterns/nfa_state_io.cpp, docs/state.md).
    void take_changes(StateDelta& out) override;
    bool restore_key(const std::string& key, std::string_view bytes, std::string* error) override;
    bool checkpointable() const override { return true; }
    bool adopt_state(RuleRuntime& from, std::string& why_not) override;  // patterns/adopt.cpp

    size_t partial_match_count() const;
    const SharedBuffer& buffer() const { return buffer_; }
    // state_bytes() without the events the state keeps alive.
    size_t state_bytes_without_events() const;

    struct PartialMatch {
        SharedBuffer::NodeId node;  // last taken (stage, event)
        uint16_t stage;             // stage of the last taken event
        uint16_t flags;
        uint32_t count;             // events taken by `stage`
        uint32_t start_seq;         // per-key sequence number of the first event
        uint32_t last_seq;          // ... of the last taken event
        int64_t first_time;
        int64_t last_time;
    };

private:
    // heap_pos of a key without a timer. Timers are at most one per key and keys
    // at most rule.max_keys (<= 1e8, rules/rule_parser.cpp), so 30 bits hold any index.
    static constexpr uint32_t kNoTimer = (1u << 30) - 1;
    // 32 bytes per key (the name lives in key_index_, see key_name()); a free
    // slot has no partial matches. The checkpoint flags share heap_pos's word.
    struct KeyState {
        PodList<PartialMatch> pms;
        uint32_t next_seq = 0;
        uint32_t heap_pos : 30 = kNoTimer;  // index in timers_, or kNoTimer
        uint32_t dirty : 1 = 0;   // changed since the last checkpoint (tracking only)
        uint32_t stored : 1 = 0;  // a checkpoint holds state for it (else dropping it needs no erase)
        uint32_t lru_prev = UINT32_MAX, lru_next = UINT32_MAX;
    };
    static_assert(sizeof(KeyState) == 32, "KeyState is the per-key cost: keep it at 32 bytes");
    // One entry per key with a deadline: the earliest deadline of its partial
    // matches. An indexed heap, so a key that finishes early leaves no stale entry.
    // Packed to 12 bytes (4-byte aligned): one per waiting key.
#pragma pack(push, 4)
    struct Timer {
        int64_t at;
        uint32_t slot;
        bool before(const Timer& o) const { return at != o.at ? at < o.at : slot < o.slot; }
    };
#pragma pack(pop)
    struct Completed {
        PartialMatch pm;
        bool absence = false;
        bool pruned = false;
    };
    struct StepCtx;  // nfa.cpp
    class View;      // nfa.cpp

    // nfa.cpp: transitions
    void step(PartialMatch pm, StepCtx& s);
    void advance(const PartialMatch& pm, size_t from, StepCtx& s, bool& can_wait, bool& blocked);
    void start(StepCtx& s);
    void take(const PartialMatch& pm, size_t stage, uint32_t count, StepCtx& s);
    bool test(const ExprPtr& e, const PartialMatch* pm, const Event& ev);
    bool within_ok(const PartialMatch& pm, int64_t t) const;
    int64_t deadline(const PartialMatch& pm) const;
    bool completes(size_t stage, uint32_t count) const;
    bool can_continue(size_t stage, uint32_t count) const;
    bool waits_for_absence(size_t stage, uint32_t count) const;
    void finish_step(KeyState& ks, StepCtx& s, AlertSink& out);
    void apply_skip(const PartialMatch& m, std::vector<PartialMatch>& pms, std::vector<Completed>& done,
                    size_t done_from);

    // nfa_state.cpp: keys, timers, limits, alerts
    uint32_t key_slot(const std::string& key);
    // A slot for `key`, absent from key_index_ (`hash` from KeySlots::find).
    uint32_t new_key_slot(const std::string& key, uint32_t hash);
    // A live key just used: first in LRU order, and changed for the next checkpoint.
    void touch_key(uint32_t slot) {
        if (lru_head_ != slot) {
            lru_unlink(slot);
            lru_push_front(slot);
        }
        if (tracking_) note_dirty(slot);
    }
    const std::string& key_name(const KeyState& ks) const {
        return key_index_.name(static_cast<uint32_t>(&ks - keys_.data()));
    }
    void drop_key(uint32_t slot);
    void lru_unlink(uint32_t slot);
    void lru_push_front(uint32_t slot);
    void schedule(uint32_t slot);
    void heap_set(uint32_t slot, int64_t at);
    void heap_remove(uint32_t slot);
    void heap_place(uint32_t pos, Timer t);
    void sift_up(uint32_t pos);
    void sift_down(uint32_t pos);
    void fire_timers(int64_t up_to, AlertSink& out);
    void expire(uint32_t slot, int64_t up_to, AlertSink& out);
    void emit(const KeyState& ks, const PartialMatch& pm, const char* kind, AlertSink& out);
    void enforce_partial_limit(std::vector<PartialMatch>& pms);
    void note_drop(const char* what);

    // nfa_state_io.cpp: checkpoints
    void note_dirty(uint32_t slot) {
        if (keys_[slot].dirty) return;
        keys_[slot].dirty = true;
        dirty_slots_.push_back(slot);
    }
    void save_key(const KeyState& ks, std::string& out) const;

    const PatternSpec& pattern_;
    std::vector<uint32_t> min_;             // effective minimum per stage (0 when optional)
    std::vector<uint32_t> start_stages_;    // pattern_.start_stages()
    std::vector<bool> tail_ok_;             // [i]: every positive stage after i is optional
    std::vector<bool> has_positive_after_;  // [i]: some positive stage follows i
    int final_negated_ = -1;           // index of a trailing `not` stage, or -1
    int skip_stage_ = -1;
    SharedBuffer buffer_;
    Throttle throttle_;
    KeySlots key_index_;
    std::vector<KeyState> keys_;
    std::vector<uint32_t> free_keys_;
    uint32_t lru_head_ = UINT32_MAX, lru_tail_ = UINT32_MAX;
    std::vector<Timer> timers_;  // indexed min-heap by (at, slot)
    std::vector<PartialMatch> scratch_pms_;
    std::vector<Completed> scratch_done_;
    std::string scratch_str_;
    std::vector<SharedBuffer::NodeId> scratch_path_;
    // Stage conditions (`where`, `until`) of the form `NAME == "TEXT"` (Expr::string_equality):
    // test() answers them from one read of NAME per event, remembered for the event
    // on_event() is stepping (memo_event_, reset at each on_event()).
    struct EqTest {
        const Expr* expr;
        std::string_view name, text;  // owned by the rule
    };
    std::vector<EqTest> eq_tests_;
    // Stage conditions an event may carry the results of (rules/precomputed.h): each
    // stage condition's bit in the plan the events name, found again when it changes.
    struct PlanBit {
        const Expr* expr;
        int bit;
    };
    const ConditionPlan* bits_plan_ = nullptr;
    std::vector<PlanBit> plan_bits_;
    uint64_t start_bits_ = 0;  // the bits of the conditions start() tests; 0: not all in the plan
    void map_plan_bits(const ConditionPlan& plan);
    const Event* memo_event_ = nullptr;
    std::string_view memo_name_;
    JsonRef memo_value_;
    int64_t last_drop_log_ms_ = INT64_MIN;
    uint64_t drops_since_log_ = 0;
    std::vector<uint32_t> dirty_slots_;   // may hold stale or repeated slots: `dirty` decides
    std::vector<std::string> gone_keys_;  // keys dropped since the last checkpoint
};

}  // namespace vigil
