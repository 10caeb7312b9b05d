#pragma once
// The whole-rule Lua runtime (SPEC 3.4, docs/lua.md): a rule whose body is
// `function on_event(ev, state, ctx)` (and optionally `on_timer(key, state, ctx)`).
//
// Guarantees:
//  - each runtime owns its own sandboxed lua_State (a clone of the rule's
//    compiled program), so partitions never share Lua state;
//  - `state` is one Lua table per key, kept in the state's registry between
//    calls; beyond the rule's max_keys the least recently used key is dropped
//    (its state and timers), counted in dropped_keys; the same happens after a
//    memory overrun that leaves the state above half the cap (the keys' state
//    together outgrew it): LRU keys go until it is at most half full;
//  - ctx.emit{...} raises an alert of kind `lua` through finish_alert(); ids
//    depend only on rule version, key and the event's [partition, offset] (for
//    timers: key and timer time), so a replay raises the same ids;
//  - timers fire in (time, key) order when the watermark reaches them, and
//    before any later event (on_event fires timers earlier than the event);
//  - event time is the only clock a rule sees (ctx.now()).
// Failure modes: a Lua error or budget overrun stops that call; the alerts it
// emitted are dropped, its state changes made before the error stay; it is
// counted in RuleCounters::errors and logged at a bounded rate. After repeated
// overruns the program is disabled and the runtime ignores further events
// (disabled() is true); other rules are unaffected. A rule whose Lua does not
// compile (or lacks on_event) yields a runtime that is disabled from the start.
// Thread rules: one worker thread at a time, like every RuleRuntime.
#include <list>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "patterns/emit.h"
#include "patterns/runtime.h"
#include "rules/lua_host.h"

namespace vigil {

class LuaRuleRuntime final : public RuleRuntime {
public:
    // `host` may be null (the rule's Lua failed to compile): `error` says why.
    LuaRuleRuntime(RulePtr rule, const Clock& clock, std::shared_ptr<LuaHost> host, std::string error);
    ~LuaRuleRuntime() override;

    void on_event(const EventPtr& ev, AlertSink& out) override;
    void on_watermark(int64_t watermark, AlertSink& out) override;
    size_t key_count() const override { return keys_.size(); }
    size_t state_bytes() const override;
    // {"key": ..., "state": {...}, "timers": [t, ...]}; "state" is null for an unknown key.
    std::string describe_key(const std::string& key) const override;

    // Checkpoints: keys with state, least recently used first; a key's state
    // table and pending timers as bytes (deterministic: equal state, equal bytes);
    // and the reverse. restore_state() replaces what the key had.
    std::vector<std::string> keys() const;
    bool serialize_state(const std::string& key, std::string& out, std::string* error = nullptr) const;
    bool restore_state(const std::string& key, std::string_view bytes, std::string* error = nullptr);
    // The engine's checkpoints (patterns/lua_state_io.cpp, docs/state.md): the
    // bytes above behind a format byte and the key's throttle.
    void take_changes(StateDelta& out) override;
    bool restore_key(const std::string& key, std::string_view bytes, std::string* error) override;
    bool checkpointable() const override { return host_ != nullptr; }

    bool disabled() const { return !host_ || host_->disabled(); }
    const std::string& last_error() const { return last_error_; }
    const LuaHost* host() const { return host_.get(); }
    size_t pending_timers() const { return timers_.size(); }

    // Internal: what the ctx callbacks (C functions) read and write.
    struct Pending {
        std::string payload_json;
        std::string severity;
    };
    struct Call {
        const Event* event = nullptr;
        const std::string* key = nullptr;
        int64_t now = 0;
        bool timer = false;
        std::vector<Pending> alerts;
    };
    Call& current() { return call_; }
    // Registers a timer for the current key; false with a reason when refused.
    const char* add_timer(int64_t t);

private:
    struct KeyEntry {
        std::list<std::string>::iterator lru;
        std::set<int64_t> timers;
    };
    bool init();
    KeyEntry& touch(const std::string& key);
    void evict_oldest();
    void fire_timers(int64_t up_to, AlertSink& out);
    bool invoke(bool timer, const Event* ev, const std::string& key, int64_t now);
    void emit_pending(const EventPtr& ev, const std::string& key, int64_t now, bool timer, AlertSink& out);
    void count_error();
    void shed_state(const std::string& keep);

    std::shared_ptr<LuaHost> host_;
    std::string last_error_;
    int states_ref_ = -2;  // LUA_NOREF
    int ctx_ref_ = -2;
    int on_event_ref_ = -2;
    int on_timer_ref_ = -2;
    std::list<std::string> lru_;  // front: least recently used
    std::unordered_map<std::string, KeyEntry> keys_;
    std::set<std::pair<int64_t, std::string>> timers_;
    Throttle throttle_;
    Call call_;
    std::set<std::string> dirty_;         // keys touched since the last take_changes()
    std::vector<std::string> gone_keys_;  // keys evicted since then
};

std::unique_ptr<RuleRuntime> make_lua_runtime(RulePtr rule, const Clock& clock);

}  // namespace vigil
