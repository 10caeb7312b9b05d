// The pattern runtime's keyed state: keys (bounded, least recently updated
// dropped first), deadlines (one min-heap for all keys), alerts, introspection.
#include <algorithm>
#include <numeric>

#include <spdlog/spdlog.h>

#include "patterns/nfa.h"
#include "patterns/nfa_view.h"

namespace vigil {

namespace {
constexpr uint32_t kNil = UINT32_MAX;
constexpr int64_t kNoDeadline = INT64_MAX;
constexpr int64_t kDropLogIntervalMs = 10'000;
}  // namespace

PatternRuntime::PatternRuntime(RulePtr rule, const Clock& clock)
    : RuleRuntime(std::move(rule), clock), pattern_(rule_->pattern), throttle_(rule_->emit.throttle_ms) {
    due_ = INT64_MAX;  // no timer yet
    const auto& st = pattern_.stages;
    const size_t n = st.size();
    if (n > 0 && st.back().negated) final_negated_ = int(n) - 1;
    min_.resize(n);
    tail_ok_.assign(n, true);
    has_positive_after_.assign(n, false);
    for (size_t i = 0; i < n; ++i) min_[i] = st[i].optional ? 0 : st[i].min_times;
    start_stages_ = pattern_.start_stages();
    for (size_t i = n; i-- > 0;) {
        if (i + 1 < n) {
            const StageSpec& nx = st[i + 1];
            bool ok = nx.negated || min_[i + 1] == 0;
            tail_ok_[i] = ok && tail_ok_[i + 1];
            has_positive_after_[i] = !nx.negated || has_positive_after_[i + 1];
        }
    }
    for (size_t i = 0; i < n; ++i)
        if (st[i].name == pattern_.skip_stage) skip_stage_ = int(i);
    for (const StageSpec& stage : st)
        for (const ExprPtr* e : {&stage.where, &stage.until}) {
            std::string_view name, text;
            if (*e && (*e)->string_equality(name, text)) eq_tests_.push_back(EqTest{e->get(), name, text});
        }
}

PatternRuntime::~PatternRuntime() = default;

void PatternRuntime::lru_unlink(uint32_t slot) {
    KeyState& k = keys_[slot];
    if (k.lru_prev != kNil) keys_[k.lru_prev].lru_next = k.lru_next; else lru_head_ = k.lru_next;
    if (k.lru_next != kNil) keys_[k.lru_next].lru_prev = k.lru_prev; else lru_tail_ = k.lru_prev;
    k.lru_prev = k.lru_next = kNil;
}

void PatternRuntime::lru_push_front(uint32_t slot) {
    KeyState& k = keys_[slot];
    k.lru_prev = kNil;
    k.lru_next = lru_head_;
    if (lru_head_ != kNil) keys_[lru_head_].lru_prev = slot;
    lru_head_ = slot;
    if (lru_tail_ == kNil) lru_tail_ = slot;
}

uint32_t PatternRuntime::key_slot(const std::string& key) {
    uint32_t h;
    uint32_t found = key_index_.find(key, h);
    if (found != KeySlots::kNone) {
        touch_key(found);
        return found;
    }
    return new_key_slot(key, h);
}

uint32_t PatternRuntime::new_key_slot(const std::string& key, uint32_t hash) {
    if (key_index_.size() >= rule_->max_keys && lru_tail_ != kNil) {
        counters_.dropped_keys++;
        counters_.dropped_partial_matches += keys_[lru_tail_].pms.size();
        drop_key(lru_tail_);
        note_drop("key");
    }
    uint32_t slot;
    if (!free_keys_.empty()) {
        slot = free_keys_.back();
        free_keys_.pop_back();
    } else {
        slot = static_cast<uint32_t>(keys_.size());
        keys_.emplace_back();
    }
    KeyState& k = keys_[slot];
    key_index_.insert(key, slot, hash);
    k.next_seq = 0;
    lru_push_front(slot);
    if (tracking_) note_dirty(slot);
    return slot;
}

void PatternRuntime::drop_key(uint32_t slot) {
    KeyState& k = keys_[slot];
    if (tracking_ && k.stored) gone_keys_.push_back(key_name(k));
    k.dirty = k.stored = false;
    for (const auto& pm : k.pms) buffer_.release(pm.node);
    heap_remove(slot);
    k.pms.clear();
    if (k.pms.capacity() > 4) k.pms.shrink_to_fit();
    lru_unlink(slot);
    key_index_.erase_slot(slot);
    free_keys_.push_back(slot);
}

void PatternRuntime::schedule(uint32_t slot) {
    int64_t next = kNoDeadline;
    for (const auto& pm : keys_[slot].pms) next = std::min(next, deadline(pm));
    if (next == kNoDeadline) {
        heap_remove(slot);
    } else {
        heap_set(slot, next);
    }
}

void PatternRuntime::heap_place(uint32_t pos, Timer t) {
    timers_[pos] = t;
    keys_[t.slot].heap_pos = pos;
    if (pos == 0) due_ = t.at;
}

void PatternRuntime::sift_up(uint32_t pos) {
    Timer t = timers_[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!t.before(timers_[parent])) break;
        heap_place(pos, timers_[parent]);
        pos = parent;
    }
    heap_place(pos, t);
}

void PatternRuntime::sift_down(uint32_t pos) {
    Timer t = timers_[pos];
    const uint32_t n = static_cast<uint32_t>(timers_.size());
    for (;;) {
        uint32_t child = 2 * pos + 1;
        if (child >= n) break;
        if (child + 1 < n && timers_[child + 1].before(timers_[child])) ++child;
        if (!timers_[child].before(t)) break;
        heap_place(pos, timers_[child]);
        pos = child;
    }
    heap_place(pos, t);
}

void PatternRuntime::heap_set(uint32_t slot, int64_t at) {
    uint32_t pos = keys_[slot].heap_pos;
    if (pos == kNoTimer) {
        timers_.push_back(Timer{at, slot});
        keys_[slot].heap_pos = static_cast<uint32_t>(timers_.size() - 1);
        sift_up(keys_[slot].heap_pos);
        return;
    }
    if (timers_[pos].at == at) return;
    bool earlier = at < timers_[pos].at;
    timers_[pos].at = at;
    if (earlier) {
        sift_up(pos);
    } else {
        sift_down(pos);
    }
}

void PatternRuntime::heap_remove(uint32_t slot) {
    uint32_t pos = keys_[slot].heap_pos;
    if (pos == kNoTimer) return;
    keys_[slot].heap_pos = kNoTimer;
    Timer last = timers_.back();
    timers_.pop_back();
    if (timers_.empty()) due_ = INT64_MAX;
    if (pos == timers_.size()) return;
    heap_place(pos, last);
    sift_up(pos);
    sift_down(keys_[last.slot].heap_pos);
}

void PatternRuntime::fire_timers(int64_t up_to, AlertSink& out) {
    while (!timers_.empty() && timers_.front().at <= up_to) {
        uint32_t slot = timers_.front().slot;
        heap_remove(slot);
        if (tracking_) note_dirty(slot);
        expire(slot, up_to, out);
    }
}

void PatternRuntime::emit(const KeyState& ks, const PartialMatch& pm, const char* kind, AlertSink& out) {
    if (!throttle_.allow(key_name(ks), pm.last_time)) return;
    Alert a;
    a.kind = kind;
    a.key = key_name(ks);
    a.time = pm.last_time;
    std::vector<SharedBuffer::NodeId>& path = scratch_path_;
    path.clear();
    for (auto n = pm.node; n != SharedBuffer::kNone; n = buffer_.pred(n)) path.push_back(n);
    std::reverse(path.begin(), path.end());
    a.events.reserve(pattern_.stages.size());
    uint32_t last_stage = UINT32_MAX;
    for (auto n : path) {
        // Events of consecutive nodes with the same stage name form one group (the same
        // stage has the same name: the names are compared only when the stage changes).
        const uint32_t stage = buffer_.stage(n);
        const std::string& name = pattern_.stages[stage].name;
        if (a.events.empty() || (stage != last_stage && a.events.back().first != name))
            a.events.emplace_back(name, EventList{});
        last_stage = stage;
        a.events.back().second.push_back(buffer_.event_ptr(n));
    }
    View view(buffer_, pattern_.stages.size(), pm.node);
    EvalContext ctx;
    ctx.event = path.empty() ? nullptr : buffer_.event(path.back());
    ctx.stages = &view;
    ctx.lua = rule_->lua.get();
    ctx.type_errors = &counters_.errors;
    finish_alert(*rule_, a, ctx, clock_.now_ms());
    if (std::string_view(kind) == "match") counters_.matches++;
    out.emit(std::move(a));
}

void PatternRuntime::enforce_partial_limit(std::vector<PartialMatch>& pms) {
    const size_t max = std::max<uint32_t>(1, pattern_.max_partial_matches);
    if (pms.size() <= max) return;
    const size_t excess = pms.size() - max;
    std::vector<size_t> order(pms.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return pms[a].start_seq < pms[b].start_seq; });
    std::vector<bool> drop(pms.size(), false);
    for (size_t i = 0; i < excess; ++i) drop[order[i]] = true;
    size_t w = 0;
    for (size_t i = 0; i < pms.size(); ++i) {
        if (drop[i]) {
            buffer_.release(pms[i].node);
        } else {
            pms[w++] = pms[i];
        }
    }
    pms.resize(w);
    counters_.dropped_partial_matches += excess;
    note_drop("partial match");
}

void PatternRuntime::note_drop(const char* what) {
    drops_since_log_++;
    int64_t now = clock_.now_ms();
    if (last_drop_log_ms_ != INT64_MIN && now - last_drop_log_ms_ < kDropLogIntervalMs) return;
    spdlog::warn("rule {}: state limit reached, dropped the oldest {} ({} drops since last report; "
                 "max_partial_matches {}, max_keys {})",
                 rule_->id, what, drops_since_log_, pattern_.max_partial_matches, rule_->max_keys);
    last_drop_log_ms_ = now;
    drops_since_log_ = 0;
}

size_t PatternRuntime::partial_match_count() const {
    size_t n = 0;
    for (const auto& k : keys_)
        n += k.pms.size();  // free slots hold none
    return n;
}

size_t PatternRuntime::state_bytes_without_events() const {
    size_t b = sizeof(*this) + keys_.capacity() * sizeof(KeyState) + free_keys_.capacity() * sizeof(uint32_t) +
               timers_.capacity() * sizeof(Timer);
    b += key_index_.bytes();  // probe table and names
    // Checkpoint tracking: up to one dirty slot per key, the keys dropped since.
    b += dirty_slots_.capacity() * sizeof(uint32_t) + gone_keys_.capacity() * sizeof(std::string);
    key_index_.for_each([&](const std::string&, uint32_t slot) {
        b += keys_[slot].pms.capacity() * sizeof(PartialMatch);
    });
    return b + buffer_.bytes(false);
}

size_t PatternRuntime::state_bytes() const {
    return state_bytes_without_events() + (buffer_.bytes(true) - buffer_.bytes(false));
}

std::string PatternRuntime::describe_key(const std::string& key) const {
    uint32_t slot = key_index_.find(key);
    if (slot == KeySlots::kNone) return "no partial matches for key " + key;
    const KeyState& k = keys_[slot];
    std::string s = std::to_string(k.pms.size()) + " partial match(es) for key " + key + "\n";
    for (const auto& pm : k.pms) {
        s += "  at stage " + pattern_.stages[pm.stage].name + " (" + std::to_string(pm.count) + " taken), events:";
        std::vector<SharedBuffer::NodeId> path;
        for (auto n = pm.node; n != SharedBuffer::kNone; n = buffer_.pred(n)) path.push_back(n);
        for (auto i = path.rbegin(); i != path.rend(); ++i) {
            const Event* e = buffer_.event(*i);
            s += " " + pattern_.stages[buffer_.stage(*i)].name + "@" + std::to_string(e->time) + "[" +
                 std::to_string(e->partition) + "," + std::to_string(e->offset) + "]";
        }
        int64_t d = deadline(pm);
        if (d != kNoDeadline) s += "; deadline " + std::to_string(d);
        s += "\n";
    }
    return s;
}

}  // namespace vigil
