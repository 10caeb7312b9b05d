#pragma once
// Private to the Lua host (rules/lua_*.cpp): the per-state bookkeeping the C
// callbacks of the sandbox reach through lua_getextraspace().
#include <cstddef>
#include <cstdint>

#include "rules/lua_host.h"

namespace vigil {

struct LuaHost::Impl {
    LuaHost* host = nullptr;
    size_t mem_used = 0;
    size_t mem_limit = 0;
    uint64_t executed = 0;
    uint64_t instr_limit = 0;
    int hook_step = 0;
    bool cpu_overrun = false;
    bool enforce_cap = true;  // off only while LuaHost::call pushes arguments
    double log_tokens = -1;  // token bucket of log(...); < 0: not started
    int64_t log_last_ns = 0;
    void* user = nullptr;    // the runtime driving this state (ctx callbacks), if any

    LuaCounters& counters() { return host->counters_; }
    const LuaLimits& limits() const { return host->limits_; }
    const std::string& chunkname() const { return host->chunkname_; }
};

LuaHost::Impl* impl_of(lua_State* L);

// Opens base, table, string, math, utf8 and removes/guards what the sandbox forbids.
void lua_open_sandbox(lua_State* L);
// After the chunk ran: later writes of new globals are counted and warned.
void lua_guard_globals(lua_State* L);

}  // namespace vigil
