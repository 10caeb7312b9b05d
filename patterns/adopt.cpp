// `state_on_change: keep`: which changed rules may keep their state, and the
// hand-over of that state from the previous version's runtime to the new one.
#include "patterns/adopt.h"

#include "patterns/lua_runtime.h"
#include "patterns/nfa.h"
#include "patterns/window.h"

namespace vigil {

namespace {

const char* body_name(RuleBody b) {
    switch (b) {
    case RuleBody::Pattern: return "pattern";
    case RuleBody::Window: return "window";
    case RuleBody::Lua: return "lua";
    }
    return "?";
}

std::string key_text(const std::vector<FieldPath>& key) {
    std::string out;
    for (const auto& k : key) out += (out.empty() ? "" : ", ") + k.text;
    return out.empty() ? "the stream's key" : out;
}

std::string expr_text(const ExprPtr& e) { return e ? e->source() : std::string(); }

bool stages_compatible(const PatternSpec& a, const PatternSpec& b, std::string& why) {
    if (a.stages.size() != b.stages.size()) {
        why = "the number of stages changed (" + std::to_string(a.stages.size()) + " -> " +
              std::to_string(b.stages.size()) + ")";
        return false;
    }
    for (size_t i = 0; i < a.stages.size(); ++i) {
        const StageSpec& x = a.stages[i];
        const StageSpec& y = b.stages[i];
        std::string at = "stage " + std::to_string(i + 1) + " (\"" + y.name + "\")";
        if (x.name != y.name) {
            why = "stage " + std::to_string(i + 1) + " changed its name (\"" + x.name + "\" -> \"" + y.name + "\")";
            return false;
        }
        if (x.negated != y.negated) {
            why = at + " changed `not`";
        } else if (x.min_times != y.min_times || x.max_times != y.max_times || x.optional != y.optional ||
                   x.greedy != y.greedy) {
            why = at + " changed its quantifier";
        } else if (i > 0 && x.contiguity != y.contiguity) {
            why = at + " changed its contiguity";
        } else if (x.looping() && x.inner != y.inner) {
            why = at + " changed its inner contiguity";
        } else {
            continue;
        }
        return false;
    }
    return true;
}

bool windows_compatible(const WindowSpec& a, const WindowSpec& b, std::string& why) {
    if (a.type != b.type) why = "the window type changed";
    else if (a.size_ms != b.size_ms || a.count_size != b.count_size) why = "the window size changed";
    else if (a.advance_ms != b.advance_ms || a.count_slide != b.count_slide) why = "the window advance changed";
    else if (a.gap_ms != b.gap_ms) why = "the session gap changed";
    else if (a.grace_ms != b.grace_ms) why = "the window grace changed";
    else if (a.emit_when != b.emit_when) why = "emit_when changed";
    else if (a.aggregates.size() != b.aggregates.size()) why = "the list of aggregates changed";
    if (!why.empty()) return false;
    for (size_t i = 0; i < a.aggregates.size(); ++i) {
        const AggregateSpec& x = a.aggregates[i];
        const AggregateSpec& y = b.aggregates[i];
        if (x.name != y.name || x.function != y.function || expr_text(x.arg) != expr_text(y.arg)) {
            why = "aggregate " + std::to_string(i + 1) + " changed (" + x.name + ": " + x.function + "(" +
                  expr_text(x.arg) + ") -> " + y.name + ": " + y.function + "(" + expr_text(y.arg) + "))";
            return false;
        }
    }
    return true;
}

// `from` as a runtime of kind R whose rule's state `to` may take over; null with
// the reason otherwise.
template <class R>
R* compatible_previous(RuleRuntime& from, const Rule& to, const char* kind, std::string& why_not) {
    auto* old = dynamic_cast<R*>(&from);
    if (!old) {
        why_not = std::string("the previous runtime is not a ") + kind + " runtime";
        return nullptr;
    }
    return state_compatible(old->rule(), to, why_not) ? old : nullptr;
}

}  // namespace

bool state_compatible(const Rule& from, const Rule& to, std::string& why_not) {
    why_not.clear();
    if (from.body != to.body) {
        why_not = std::string("the rule body changed (") + body_name(from.body) + " -> " + body_name(to.body) + ")";
        return false;
    }
    if (from.stream != to.stream) {
        why_not = "the stream changed (\"" + from.stream + "\" -> \"" + to.stream + "\")";
        return false;
    }
    if (key_text(from.key) != key_text(to.key)) {
        why_not = "the key changed (" + key_text(from.key) + " -> " + key_text(to.key) + ")";
        return false;
    }
    switch (to.body) {
    case RuleBody::Pattern: return stages_compatible(from.pattern, to.pattern, why_not);
    case RuleBody::Window: return windows_compatible(from.window, to.window, why_not);
    case RuleBody::Lua: return true;
    }
    return true;
}

bool RuleRuntime::adopt_state(RuleRuntime& /*from*/, std::string& why_not) {
    why_not = "this runtime cannot take over state";
    return false;
}

// ---- pattern: partial matches, the shared buffer, key order; deadlines recomputed ----

bool PatternRuntime::adopt_state(RuleRuntime& from, std::string& why_not) {
    auto* old = compatible_previous<PatternRuntime>(from, rule(), "pattern", why_not);
    if (!old) return false;
    buffer_ = std::move(old->buffer_);
    key_index_ = std::move(old->key_index_);  // names stay with their slots
    keys_ = std::move(old->keys_);
    free_keys_ = std::move(old->free_keys_);
    lru_head_ = old->lru_head_;
    lru_tail_ = old->lru_tail_;
    counters_ = old->counters_;
    if (old->rule().emit.throttle_ms == rule_->emit.throttle_ms) throttle_ = std::move(old->throttle_);
    old->key_index_ = KeySlots{};
    old->keys_.clear();
    old->free_keys_.clear();
    old->timers_.clear();
    old->dirty_slots_.clear();
    old->gone_keys_.clear();
    old->lru_head_ = old->lru_tail_ = UINT32_MAX;
    // `within` may have changed: every key's deadline is computed again. The stored
    // state was the old version's (deleted on the swap): every key is saved again
    // under the new version at the next checkpoint.
    timers_.clear();
    due_ = INT64_MAX;
    dirty_slots_.clear();
    gone_keys_.clear();
    for (auto& ks : keys_) {
        ks.heap_pos = kNoTimer;
        ks.dirty = 0;
    }
    for (uint32_t slot = 0; slot < keys_.size(); ++slot) {
        if (keys_[slot].pms.empty()) continue;  // a free slot
        schedule(slot);
        if (tracking_) note_dirty(slot);
    }
    return true;
}

// ---- window: open windows, keys, timers (the window shape is unchanged) ----

bool WindowRuntime::adopt_state(RuleRuntime& from, std::string& why_not) {
    auto* old = compatible_previous<WindowRuntime>(from, rule(), "window", why_not);
    if (!old) return false;
    if (!valid_ || !old->valid_) {
        why_not = "the aggregates could not be planned";
        return false;
    }
    watermark_ = old->watermark_;
    keys_ = std::move(old->keys_);  // the states are heap objects: by_id_'s pointers stay valid
    by_id_ = std::move(old->by_id_);
    age_ = std::move(old->age_);
    seq_ = old->seq_;
    timers_ = std::move(old->timers_);
    timer_count_ = old->timer_count_;
    due_ = old->due_;
    counters_ = old->counters_;
    if (old->rule().emit.throttle_ms == rule_->emit.throttle_ms) throttle_ = std::move(old->throttle_);
    old->by_id_.clear();
    old->timers_.clear();
    old->timer_count_ = 0;
    // Saved again under the new version at the next checkpoint (the old version's rows
    // are deleted on the swap).
    dirty_ids_.clear();
    gone_keys_.clear();
    by_id_.for_each([&](KeyState& ks) {
        ks.dirty = false;
        if (tracking_) note_dirty(ks);
    });
    return true;
}

// ---- Lua: each key's state table and timers, through the checkpoint bytes ----

bool LuaRuleRuntime::adopt_state(RuleRuntime& from, std::string& why_not) {
    auto* old = compatible_previous<LuaRuleRuntime>(from, rule(), "Lua", why_not);
    if (!old) return false;
    if (disabled()) {
        why_not = "the new version's Lua is disabled: " + last_error_;
        return false;
    }
    std::string bytes, err;
    for (const std::string& key : old->keys()) {  // least recently used first: the LRU order carries over
        if (!old->serialize_state(key, bytes, &err) || !restore_state(key, bytes, &err)) {
            why_not = "the state of key \"" + key + "\" could not be handed over: " + err;
            return false;
        }
    }
    counters_ = old->counters_;
    if (old->rule().emit.throttle_ms == rule_->emit.throttle_ms) throttle_ = std::move(old->throttle_);
    return true;
}

}  // namespace vigil
