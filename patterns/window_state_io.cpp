// The window runtime's checkpoints (docs/state.md "Window keys"): one record per
// key with its open windows (bounds, ordinal, update count, aggregates), its
// sliding aggregates, the counters that alert ids depend on, and its throttle.
// Timers and key ids are not stored: restore_key() re-files the close timers.
#include "patterns/state_codec.h"
#include "patterns/window.h"

namespace vigil {

namespace {
constexpr uint64_t kHasThrottle = 1, kHasSliding = 2;
}

void WindowRuntime::save_key(const KeyState& ks, std::string& out) const {
    out.push_back(static_cast<char>(kWindowStateFormat));
    int64_t throttled = 0;
    const bool has_throttle = throttle_.last(ks.key, throttled);
    put_varint(out, (has_throttle ? kHasThrottle : 0) | (ks.sliding ? kHasSliding : 0));
    if (has_throttle) put_zigzag(out, throttled);
    put_varint(out, ks.evaluations);
    put_varint(out, ks.count_seen);
    put_varint(out, ks.windows.size());
    for (const auto& w : ks.windows) {
        put_zigzag(out, w.start);
        put_zigzag(out, w.end);
        put_varint(out, w.ordinal);
        put_varint(out, w.updates);
        w.acc.save(out);
    }
    if (ks.sliding) ks.sliding->save(out);
}

void WindowRuntime::take_changes(StateDelta& out) {
    for (auto& key : gone_keys_)
        if (!keys_.find(key)) out.erase.push_back(std::move(key));
    gone_keys_.clear();
    for (uint64_t id : dirty_ids_) {
        KeyState* found = by_id_.find(id);
        if (!found || !found->dirty) continue;
        KeyState& ks = *found;
        ks.dirty = false;
        ks.stored = true;
        std::string bytes;
        save_key(ks, bytes);
        out.put.emplace_back(ks.key, std::move(bytes));
    }
    dirty_ids_.clear();
}

bool WindowRuntime::restore_key(const std::string& key, std::string_view bytes, std::string* error) {
    auto fail = [&](const char* why) {
        if (error) *error = std::string("window state of key \"") + key + "\": " + why;
        return false;
    };
    if (!valid_) return fail("the rule's aggregates cannot be planned");
    StateReader in(bytes);
    if (in.byte() != kWindowStateFormat) return fail("unknown format byte");
    const uint64_t flags = in.u();
    int64_t throttled = 0;
    if (flags & kHasThrottle) throttled = in.i();
    const uint64_t evaluations = in.u();
    const uint64_t count_seen = in.u();
    std::vector<Window> windows;
    for (uint64_t i = 0, n = in.count(); i < n && in.ok(); ++i) {
        Window w(plan_);
        w.start = in.i();
        w.end = in.i();
        w.ordinal = in.u();
        w.updates = static_cast<uint32_t>(in.u());
        if (!w.acc.load(plan_, in)) break;
        windows.push_back(std::move(w));
    }
    std::unique_ptr<SlidingAggregates> sliding;
    if (flags & kHasSliding) {
        sliding = std::make_unique<SlidingAggregates>(plan_);
        sliding->load(plan_, in);
    }
    if (!in.ok() || !in.at_end()) return fail("truncated or malformed bytes");

    const bool was_tracking = tracking_;
    tracking_ = false;  // restoring is not a change to checkpoint
    if (KeyState* old = keys_.find(key)) erase_key(*old);
    KeyState& ks = *key_state(key);
    ks.stored = true;
    ks.evaluations = evaluations;
    ks.count_seen = count_seen;
    ks.windows = std::move(windows);
    ks.sliding = std::move(sliding);
    const WindowType type = rule_->window.type;
    if (type == WindowType::Tumbling || type == WindowType::Hopping || type == WindowType::Session)
        for (const auto& w : ks.windows) schedule(ks, w);
    if (ks.sliding && !ks.sliding->empty()) {
        ks.timer_at = ks.sliding->last_time() + rule_->window.size_ms;
        add_timer(ks.timer_at, ks.id, 0);
    }
    if (flags & kHasThrottle) throttle_.set_last(key, throttled);
    erase_if_idle(ks);
    tracking_ = was_tracking;
    return true;
}

}  // namespace vigil
