// Assigning events to windows: which windows an event belongs to, whether they
// are still open, and what an update emits.
#include <algorithm>

#include "patterns/window.h"
#include "rules/precomputed.h"

namespace vigil {

namespace {

int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

std::string update_id(uint32_t updates) { return "u" + std::to_string(updates); }

}  // namespace

void WindowRuntime::take_samples(const Event& ev) {
    const bool preset = ev.cond_plan && ev.num_known;  // numbers read ahead (rules/precomputed.h)
    if (preset && ev.cond_plan != nums_plan_) map_plan_numbers(*ev.cond_plan);
    if (preset && nums_only_ && (ev.num_known & nums_needed_) == nums_needed_) {
        // Every argument is one of the event's numbers (or count()'s none): what
        // make_samples() gives, without evaluating anything.
        const size_t n = plan_nums_.size();
        if (samples_.size() != n) samples_.resize(n);
        Sample* out = samples_.data();
        for (size_t i = 0; i < n; ++i) {
            const int8_t k = plan_nums_[i];
            if (k < 0) {
                out[i].kind = Value::Kind::Null;
                continue;
            }
            out[i].kind = Value::Kind::Number;
            out[i].boolean = false;
            out[i].number = ev.nums[k];
        }
        return;
    }
    EvalContext ctx;
    ctx.event = &ev;
    ctx.lua = rule_->lua.get();
    ctx.scratch = &scratch_;
    ctx.type_errors = &counters_.errors;
    scratch_.clear();
    const PresetNumbers numbers{plan_nums_.data(), ev.nums, ev.num_known};
    make_samples(plan_, ctx, samples_, preset && nums_needed_ ? &numbers : nullptr);
}

void WindowRuntime::map_plan_numbers(const ConditionPlan& plan) {
    nums_plan_ = &plan;
    nums_needed_ = 0;
    plan_nums_.assign(plan_.size(), -1);
    nums_only_ = true;
    for (size_t i = 0; i < plan_.size(); ++i) {
        // Arguments make_samples() would read as a bare member; a copy of an earlier
        // aggregate's argument (max and min of one member) takes that one's number.
        const int32_t same = plan_.same_arg[i];
        const int k = same >= 0                 ? plan_nums_[static_cast<size_t>(same)]
                      : plan_.member[i]         ? plan.number_of(*plan_.member[i])
                                                : -1;
        if (k >= 0) {
            plan_nums_[i] = static_cast<int8_t>(k);
            nums_needed_ |= static_cast<uint8_t>(1u << k);
        }
        // Filled from the numbers alone: no kept text (first() or last() may hold an
        // earlier event's string), and each argument count()'s none or a number.
        nums_only_ = nums_only_ && !plan_.keeps[i] && (!plan_.args[i] || k >= 0);
    }
    nums_only_ = nums_only_ && nums_needed_;
}

bool WindowRuntime::add(const Event& ev, bool late, AlertSink& out) {
    if (!valid_) {
        ++counters_.errors;
        return false;
    }
    ++counters_.evaluations;
    switch (rule_->window.type) {
    case WindowType::Tumbling:
    case WindowType::Hopping: return add_time(ev, out);
    case WindowType::Session: return add_session(ev, late, out);
    case WindowType::Count: return add_count(ev, late, out);
    case WindowType::Sliding: return add_sliding(ev, late, out);
    }
    return false;
}

// Tumbling and hopping: the windows [s, s + size) with s a multiple of the advance
// and s <= t < s + size; each is open while watermark < end + grace.
bool WindowRuntime::add_time(const Event& ev, AlertSink& out) {
    const int64_t size = size_ms_, adv = advance_ms_, grace = grace_ms_;
    if (size <= 0) {
        ++counters_.errors;
        return false;
    }
    const int64_t t = ev.time;
    // The last window start <= t: events mostly come in time order, so it is usually
    // the previous event's, found without a division.
    if (t < step_start_ || static_cast<uint64_t>(t) - static_cast<uint64_t>(step_start_) >= static_cast<uint64_t>(adv))
        step_start_ = floor_div(t, adv) * adv;
    const int64_t last = step_start_;
    const int64_t first = whole_steps_ ? last - (size - adv) : last - ((last - (t - size) - 1) / adv) * adv;
    auto open = [&](int64_t s) { return s + size + grace > watermark_; };
    int64_t s0 = first;
    while (s0 <= last && !open(s0)) s0 += adv;
    if (s0 > last) return false;  // late for every window of t

    take_samples(ev);
    KeyState* ks = key_state(ev.key, event_key_hash(ev));
    const bool on_update = rule_->window.emit_when == EmitWhen::OnUpdate;
    // Starts are multiples of adv, so the window after s's (when there is one) is s + adv's.
    // A window that is no longer open has had its timer fired (the watermark is never
    // set past a timer without firing it), so s0's is the first; the search is a guard.
    auto it = ks->windows.begin();
    if (it != ks->windows.end() && it->start < s0)
        it = std::lower_bound(it, ks->windows.end(), s0, [](const Window& w, int64_t v) { return w.start < v; });
    for (int64_t s = s0; s <= last; s += adv, ++it) {
        if (it == ks->windows.end() || it->start != s) {
            Window w = new_window();
            w.start = s;
            w.end = s + size;
            it = ks->windows.insert(it, std::move(w));
            schedule(*ks, *it);
        }
        it->acc.add(plan_, samples_);
        if (on_update) {
            ++it->updates;
            emit(*ks, &it->acc, nullptr, it->start, it->end, it->end, update_id(it->updates), out);
        }
    }
    return true;
}

// Session: an event within `gap` (inclusive) of a session joins it; one that
// reaches two sessions merges them. Open while watermark <= end + gap + grace.
bool WindowRuntime::add_session(const Event& ev, bool late, AlertSink& out) {
    const WindowSpec& spec = rule_->window;
    const int64_t gap = spec.gap_ms;
    const int64_t t = ev.time;
    const KeyState* found = keys_.find(ev.key, event_key_hash(ev));
    size_t lo = 0, hi = 0;
    if (found) {
        const auto& ws = found->windows;
        while (lo < ws.size() && ws[lo].end + gap < t) ++lo;
        hi = lo;
        while (hi < ws.size() && ws[hi].start - gap <= t) ++hi;
    }
    // A late event that joins no open session may still have belonged to one that
    // already closed (any session ending in [t - gap, t] closes once the watermark
    // passes t + grace): as Kafka Streams does, take it only while t + grace >= watermark.
    if (lo == hi && late && t + spec.grace_ms < watermark_) return false;

    take_samples(ev);
    KeyState* ks = key_state(ev.key, event_key_hash(ev));
    auto& ws = ks->windows;
    if (lo == hi) {
        Window w = new_window();
        w.start = w.end = t;
        ws.insert(ws.begin() + static_cast<std::ptrdiff_t>(lo), std::move(w));
        hi = lo + 1;
    } else {
        // The merged sessions' timers go stale: fire() skips a timer whose window
        // no longer closes at that time.
        Window& base = ws[lo];
        for (size_t j = lo + 1; j < hi; ++j) {
            base.end = std::max(base.end, ws[j].end);
            base.updates = std::max(base.updates, ws[j].updates);
            base.acc.merge(plan_, std::move(ws[j].acc));
        }
        ws.erase(ws.begin() + static_cast<std::ptrdiff_t>(lo + 1), ws.begin() + static_cast<std::ptrdiff_t>(hi));
        base.start = std::min(base.start, t);
        base.end = std::max(base.end, t);
    }
    Window& w = ws[lo];
    w.acc.add(plan_, samples_);
    schedule(*ks, w);
    if (spec.emit_when == EmitWhen::OnUpdate) {
        ++w.updates;
        emit(*ks, &w.acc, nullptr, w.start, w.end, w.end, update_id(w.updates), out);
    }
    return true;
}

// Count: window k holds the key's events k*slide .. k*slide + size - 1 and is
// complete (closed) when it holds `size` events; time plays no part.
bool WindowRuntime::add_count(const Event& ev, bool late, AlertSink& out) {
    const WindowSpec& spec = rule_->window;
    const uint64_t size = spec.count_size;
    const uint64_t slide = spec.count_slide ? spec.count_slide : size;
    if (size == 0) {
        ++counters_.errors;
        return false;
    }
    if (late) return false;
    take_samples(ev);
    KeyState* ks = key_state(ev.key, event_key_hash(ev));
    const uint64_t n = ks->count_seen++;
    if (n % slide == 0) {
        Window w = new_window();
        w.start = w.end = ev.time;
        w.ordinal = n / slide;
        ks->windows.push_back(std::move(w));
    }
    for (size_t i = 0; i < ks->windows.size();) {
        Window& w = ks->windows[i];
        w.acc.add(plan_, samples_);
        w.end = std::max(w.end, ev.time);
        const bool full = w.acc.events() >= size;
        std::string id = "c" + std::to_string(w.ordinal);
        if (spec.emit_when == EmitWhen::OnUpdate) {
            ++w.updates;
            emit(*ks, &w.acc, nullptr, w.start, w.end, w.end, id + update_id(w.updates), out);
        } else if (full) {
            emit(*ks, &w.acc, nullptr, w.start, w.end, w.end, id, out);
        }
        if (full) {
            retire(w);
            ks->windows.erase(ks->windows.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
            ++i;
        }
    }
    return true;
}

// Sliding: evaluated at each event over the key's events in (t - size, t]. The
// result is final when computed (events arrive in event-time order), so
// on_close and on_update both emit once per event; late events are not taken.
bool WindowRuntime::add_sliding(const Event& ev, bool late, AlertSink& out) {
    const int64_t size = rule_->window.size_ms;
    if (late || size <= 0) return false;
    const int64_t t = ev.time;
    take_samples(ev);
    KeyState* ks = key_state(ev.key, event_key_hash(ev));
    if (!ks->sliding) ks->sliding = std::make_unique<SlidingAggregates>(plan_);
    ks->sliding->expire(plan_, t - size);
    ks->sliding->push(plan_, t, samples_);
    ++ks->evaluations;
    emit(*ks, nullptr, ks->sliding.get(), t - size, t, t, "s" + std::to_string(ks->evaluations), out);
    if (ks->timer_at == kNoTimer) {
        ks->timer_at = t + size;
        add_timer(ks->timer_at, ks->id, 0);
    }
    return true;
}

}  // namespace vigil
