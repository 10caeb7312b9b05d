// WindowRuntime: keys, timers, emission. Assigning events to windows lives in
// window_assign.cpp.
#include "patterns/window.h"

#include <algorithm>

#include "rules/hash.h"

namespace vigil {

WindowRuntime::WindowRuntime(RulePtr rule, const Clock& clock)
    : RuleRuntime(std::move(rule), clock), throttle_(rule_->emit.throttle_ms) {
    due_ = INT64_MAX;  // no timer yet
    valid_ = AggPlan::build(rule_->window.aggregates, plan_, &plan_error_);
    const WindowSpec& spec = rule_->window;
    if (spec.type == WindowType::Hopping && spec.advance_ms > 0) whole_steps_ = spec.size_ms % spec.advance_ms == 0;
    size_ms_ = spec.size_ms;
    advance_ms_ = (spec.type == WindowType::Hopping && spec.advance_ms > 0) ? spec.advance_ms : spec.size_ms;
    grace_ms_ = spec.grace_ms;
}

std::unique_ptr<RuleRuntime> make_window_runtime(RulePtr rule, const Clock& clock) {
    return std::make_unique<WindowRuntime>(std::move(rule), clock);
}

// ---- events and time ----

void WindowRuntime::on_event(const EventPtr& ev, AlertSink& out) {
    // The engine's watermark is >= ev->time here, so timers up to it may fire first
    // (due_ is at or before the first timer: with none due, only the time moves).
    if (ev->time > watermark_) {
        if (ev->time >= due_) advance(ev->time, out);
        else watermark_ = ev->time;
    }
    add(*ev, false, out);
}

bool WindowRuntime::on_late_event(const EventPtr& ev, AlertSink& out) {
    if (ev->time >= watermark_) {
        add(*ev, false, out);
        return true;
    }
    return add(*ev, true, out);
}

void WindowRuntime::on_watermark(int64_t watermark, AlertSink& out) {
    if (watermark > watermark_) advance(watermark, out);
}

void WindowRuntime::advance(int64_t watermark, AlertSink& out) {
    watermark_ = watermark;
    while (!timers_.empty() && timers_.begin()->first <= watermark) {
        auto due = timers_.extract(timers_.begin());
        timer_count_ -= due.mapped().size();
        for (const Timer& t : due.mapped()) fire(due.key(), t, out);
    }
    due_ = timers_.empty() ? INT64_MAX : timers_.begin()->first;
}

int64_t WindowRuntime::close_at(const Window& w) const {
    const WindowSpec& spec = rule_->window;
    if (spec.type == WindowType::Session) return w.end + spec.gap_ms + spec.grace_ms + 1;  // wm > end + gap + grace
    return w.end + spec.grace_ms;                                                          // wm >= end + grace
}

void WindowRuntime::fire(int64_t at, const Timer& t, AlertSink& out) {
    const int64_t start = t.start;
    KeyState* found = by_id_.find(t.key_id);
    if (!found) return;  // the key was erased or evicted
    KeyState& ks = *found;
    if (rule_->window.type == WindowType::Sliding) {
        // Re-arming changes nothing a checkpoint holds (restore_key() derives the
        // timer); erasing the key records it as gone.
        if (ks.timer_at != at) return;
        ks.timer_at = kNoTimer;
        if (ks.sliding && !ks.sliding->empty() && ks.sliding->last_time() + rule_->window.size_ms > at) {
            ks.timer_at = ks.sliding->last_time() + rule_->window.size_ms;
            add_timer(ks.timer_at, ks.id, 0);
            return;
        }
        erase_key(ks);  // no event of this key can fall in a future window
        return;
    }
    for (size_t i = 0; i < ks.windows.size(); ++i) {
        Window& w = ks.windows[i];
        if (w.start != start) continue;
        if (close_at(w) != at) return;  // a session that grew or merged since: a newer timer decides
        if (tracking_) note_dirty(ks);  // only a timer that closes a window changes the key
        if (rule_->window.emit_when == EmitWhen::OnClose) {
            emit(ks, &w.acc, nullptr, w.start, w.end, w.end, std::string(), out);
        }
        retire(w);
        ks.windows.erase(ks.windows.begin() + static_cast<std::ptrdiff_t>(i));
        erase_if_idle(ks);
        return;
    }
}

// ---- keys ----

WindowRuntime::KeyState* WindowRuntime::key_state(const std::string& key, uint64_t hash) {
    ++seq_;
    bool created = false;
    KeyState& ks = *keys_.find_or_create(key, hash, created);
    ks.touched = seq_;
    if (!created) {
        if (tracking_) note_dirty(ks);
        return &ks;
    }
    ks.id = by_id_.add(&ks);
    if (tracking_) note_dirty(ks);
    age_.emplace_back(ks.id, seq_);
    if (rule_->max_keys > 0 && keys_.size() > rule_->max_keys) evict_one();
    if (age_.size() > 2 * keys_.size() + 64) {  // drop the entries of erased keys
        std::erase_if(age_, [&](const auto& e) { return !by_id_.contains(e.first); });
    }
    return &ks;
}

void WindowRuntime::evict_one() {
    while (!age_.empty()) {
        auto [id, queued] = age_.front();
        age_.pop_front();
        KeyState* found = by_id_.find(id);
        if (!found) continue;  // already erased
        KeyState& ks = *found;
        if (ks.touched > queued && ks.touched != seq_) {
            age_.emplace_back(id, ks.touched);  // updated since: a second chance
            continue;
        }
        if (ks.touched == seq_) {  // the key being created now: keep it
            age_.emplace_back(id, ks.touched);
            continue;
        }
        erase_key(ks);
        ++counters_.dropped_keys;
        return;
    }
}

void WindowRuntime::erase_key(KeyState& ks) {
    // Timers and age entries that name this key die lazily: its id is gone.
    if (tracking_ && ks.stored) gone_keys_.push_back(ks.key);
    by_id_.erase(ks.id);
    keys_.erase(ks.key);  // last: destroys ks
}

void WindowRuntime::erase_if_idle(KeyState& ks) {
    if (!ks.windows.empty()) return;
    if (ks.sliding && !ks.sliding->empty()) return;
    if (rule_->window.type == WindowType::Count) return;  // count windows keep their position in the stream
    erase_key(ks);
}

// ---- emission ----

void WindowRuntime::emit(const KeyState& ks, const Accumulator* acc, const SlidingAggregates* sliding,
                         int64_t start, int64_t end, int64_t time, const std::string& extra_id, AlertSink& out) {
    const bool needs_values = rule_->window.having || !rule_->emit.payload.empty();
    if (needs_values && acc) acc->values(plan_, values_, docs_);
    if (needs_values && sliding) sliding->values(plan_, values_, docs_);
    EvalContext ctx;
    ctx.vars = needs_values ? values_.data() : nullptr;
    ctx.lua = rule_->lua.get();
    ctx.scratch = &scratch_;
    ctx.type_errors = &counters_.errors;
    scratch_.clear();
    if (rule_->window.having && !rule_->window.having->test(ctx)) return;
    if (!throttle_.allow(ks.key, time)) return;

    Alert a;
    a.kind = "window";
    a.key = ks.key;
    a.time = time;
    a.window = std::make_pair(start, end);
    if (acc) {
        acc->write_values(plan_, a.values_json);
    } else {
        sliding->write_values(plan_, a.values_json, values_, docs_);
    }
    finish_alert(*rule_, a, ctx, clock_.now_ms());
    if (!extra_id.empty()) a.id = hex_digits(stable_hash64(a.id + '\x1f' + extra_id), 16);
    ++counters_.matches;
    out.emit(std::move(a));
}

// ---- introspection ----

size_t WindowRuntime::KeyState::bytes() const {
    size_t b = sizeof(KeyState) + key.capacity() + 64;  // map and LRU nodes
    for (const auto& w : windows) b += sizeof(Window) - sizeof(Accumulator) + w.acc.bytes();
    if (sliding) b += sliding->bytes();
    return b;
}

size_t WindowRuntime::state_bytes() const {
    size_t b = sizeof(*this) + timer_count_ * sizeof(Timer) + timers_.size() * 64;
    for (const auto& cells : spare_cells_) b += cells.capacity() * sizeof(AggCell);
    keys_.for_each([&](const KeyState& ks) { b += ks.bytes(); });
    return b;
}

std::string WindowRuntime::describe_key(const std::string& key) const {
    const KeyState* found = keys_.find(key);
    if (!found) return "no open windows for key \"" + key + "\"";
    const KeyState& ks = *found;
    std::string s;
    if (ks.sliding) {
        s += "sliding window, " + std::to_string(ks.sliding->events()) + " events, values ";
        std::vector<Value> vals;
        std::vector<JsonDoc> docs;
        ks.sliding->write_values(plan_, s, vals, docs);
        s += '\n';
    }
    for (const auto& w : ks.windows) {
        s += "window [" + std::to_string(w.start) + ", " + std::to_string(w.end) + "] " +
             std::to_string(w.acc.events()) + " events, closes at watermark " +
             (rule_->window.type == WindowType::Count ? std::string("(by count)") : std::to_string(close_at(w))) +
             ", values ";
        w.acc.write_values(plan_, s);
        s += '\n';
    }
    if (s.empty()) s = "no open windows for key \"" + key + "\"\n";
    return s;
}

}  // namespace vigil
