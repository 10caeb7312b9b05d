// The Lua runtime's checkpoints for the engine (docs/state.md "Lua keys"):
// kLuaStateFormat, flags, the key's throttle, then serialize_state()'s bytes.
#include <spdlog/spdlog.h>

#include "patterns/lua_runtime.h"
#include "patterns/state_codec.h"

namespace vigil {

void LuaRuleRuntime::take_changes(StateDelta& out) {
    for (auto& key : gone_keys_)
        if (!keys_.count(key)) out.erase.push_back(std::move(key));
    gone_keys_.clear();
    for (const auto& key : dirty_) {
        if (!keys_.count(key)) continue;
        std::string bytes(1, static_cast<char>(kLuaStateFormat));
        int64_t throttled = 0;
        const bool has_throttle = throttle_.last(key, throttled);
        put_varint(bytes, has_throttle ? 1 : 0);
        if (has_throttle) put_zigzag(bytes, throttled);
        std::string err, lua;
        if (!serialize_state(key, lua, &err)) {
            // Not checkpointable (a value Lua cannot serialize): the key restarts empty.
            spdlog::warn("rule {}: state of key {} not checkpointed: {}", rule_->id, key, err);
            out.erase.push_back(key);
            continue;
        }
        bytes += lua;
        out.put.emplace_back(key, std::move(bytes));
    }
    dirty_.clear();
}

bool LuaRuleRuntime::restore_key(const std::string& key, std::string_view bytes, std::string* error) {
    StateReader in(bytes);
    if (in.byte() != kLuaStateFormat) {
        if (error) *error = "Lua state of key \"" + key + "\": unknown format byte";
        return false;
    }
    const bool has_throttle = in.u() == 1;
    int64_t throttled = has_throttle ? in.i() : 0;
    if (!in.ok()) {
        if (error) *error = "Lua state of key \"" + key + "\": truncated";
        return false;
    }
    const bool was_tracking = tracking_;
    tracking_ = false;
    bool ok = restore_state(key, bytes.substr(in.pos()), error);
    tracking_ = was_tracking;
    if (ok && has_throttle) throttle_.set_last(key, throttled);
    return ok;
}

}  // namespace vigil
