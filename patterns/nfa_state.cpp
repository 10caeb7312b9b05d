// The pattern runtime's keyed state: keys (bounded, least recently updated
// dropped first), deadlines (one min-heap for all keys), alerts, introspection.
#include <algorithm>
#include <functional>
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
    const auto& st = pattern_.stages;
    const size_t n = st.size();
    if (n > 0 && st.back().negated) final_negated_ = int(n) - 1;
    min_.resize(n);
    tail_ok_.assign(n, true);
    has_positive_after_.assign(n, false);
    for (size_t i = 0; i < n; ++i) min_[i] = st[i].optional ? 0 : st[i].min_times;
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
    auto it = key_index_.find(key);
    if (it != key_index_.end()) {
        if (lru_head_ != it->second) {
            lru_unlink(it->second);
            lru_push_front(it->second);
        }
        return it->second;
    }
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
    auto [pos, inserted] = key_index_.emplace(key, slot);
    (void)inserted;
    KeyState& k = keys_[slot];
    k.key = &pos->first;
    k.live = true;
    k.next_seq = 0;
    k.timer_at = INT64_MAX;
    lru_push_front(slot);
    return slot;
}

void PatternRuntime::drop_key(uint32_t slot) {
    KeyState& k = keys_[slot];
    for (const auto& pm : k.pms) buffer_.release(pm.node);
    k.pms.clear();
    if (k.pms.capacity() > 4) k.pms.shrink_to_fit();
    lru_unlink(slot);
    key_index_.erase(*k.key);
    k.key = nullptr;
    k.live = false;
    k.generation++;
    k.timer_at = INT64_MAX;
    free_keys_.push_back(slot);
}

void PatternRuntime::schedule(uint32_t slot) {
    KeyState& k = keys_[slot];
    int64_t next = kNoDeadline;
    for (const auto& pm : k.pms) next = std::min(next, deadline(pm));
    if (next == kNoDeadline || next >= k.timer_at) return;
    k.timer_at = next;
    timers_.push_back(Timer{next, slot, k.generation});
    std::push_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
}

void PatternRuntime::fire_timers(int64_t up_to, AlertSink& out) {
    while (!timers_.empty() && timers_.front().at <= up_to) {
        std::pop_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
        Timer t = timers_.back();
        timers_.pop_back();
        KeyState& k = keys_[t.slot];
        if (!k.live || k.generation != t.generation || k.timer_at != t.at) continue;  // stale
        k.timer_at = INT64_MAX;
        expire(t.slot, up_to, out);
    }
}

void PatternRuntime::emit(const KeyState& ks, const PartialMatch& pm, const char* kind, AlertSink& out) {
    if (!throttle_.allow(*ks.key, pm.last_time)) return;
    Alert a;
    a.kind = kind;
    a.key = *ks.key;
    a.time = pm.last_time;
    std::vector<SharedBuffer::NodeId> path;
    for (auto n = pm.node; n != SharedBuffer::kNone; n = buffer_.pred(n)) path.push_back(n);
    std::reverse(path.begin(), path.end());
    for (auto n : path) {
        const std::string& name = pattern_.stages[buffer_.stage(n)].name;
        if (a.events.empty() || a.events.back().first != name) a.events.emplace_back(name, std::vector<EventPtr>{});
        a.events.back().second.push_back(buffer_.event_ptr(n));
    }
    View view(buffer_, pattern_.stages.size(), pm.node);
    EvalContext ctx;
    ctx.event = path.empty() ? nullptr : buffer_.event(path.back());
    ctx.stages = &view;
    ctx.lua = rule_->lua.get();
    ctx.type_errors = &counters_.errors;
    finish_alert(*rule_, a, ctx, clock_.now_ms());
    if (a.kind == "match") counters_.matches++;
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
        if (k.live) n += k.pms.size();
    return n;
}

size_t PatternRuntime::state_bytes_without_events() const {
    size_t b = sizeof(*this) + keys_.capacity() * sizeof(KeyState) + free_keys_.capacity() * sizeof(uint32_t) +
               timers_.capacity() * sizeof(Timer);
    // unordered_map: one node (next pointer, cached hash, key, value) per key, plus buckets.
    b += key_index_.bucket_count() * sizeof(void*);
    for (const auto& [key, slot] : key_index_) {
        b += 2 * sizeof(void*) + sizeof(std::string) + sizeof(uint32_t);
        if (key.capacity() > 15) b += key.capacity() + 1;
        b += keys_[slot].pms.capacity() * sizeof(PartialMatch);
    }
    return b + buffer_.bytes(false);
}

size_t PatternRuntime::state_bytes() const {
    return state_bytes_without_events() + (buffer_.bytes(true) - buffer_.bytes(false));
}

std::string PatternRuntime::describe_key(const std::string& key) const {
    auto it = key_index_.find(key);
    if (it == key_index_.end()) return "no partial matches for key " + key;
    const KeyState& k = keys_[it->second];
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
