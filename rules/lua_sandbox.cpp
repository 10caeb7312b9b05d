// The sandbox: which libraries a rule sees, and guards on the C functions that
// the instruction hook cannot interrupt.
#include <lua.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string_view>

#include "rules/lua_internal.h"

namespace vigil {

namespace {

// Worst-case backtracking steps of Lua's matcher for `pat` on `n` subject bytes:
// (n+1) start positions unless anchored, times C(n+k, k) for k items quantified
// with * + - (or %b), times 2 per '?'. Pessimistic for patterns whose items do
// not overlap, exact in order of magnitude for the catastrophic ones.
double pattern_cost(std::string_view pat, size_t n, bool allow_anchor) {
    double cost = 1;
    size_t i = 0;
    if (allow_anchor && !pat.empty() && pat[0] == '^') {
        i = 1;
    } else {
        cost = static_cast<double>(n) + 1;
    }
    int k = 0;
    while (i < pat.size()) {
        char c = pat[i];
        if (c == '(' || c == ')') { ++i; continue; }
        if (c == '%' && i + 1 < pat.size() && pat[i + 1] == 'b') { i += 4; ++k; continue; }
        if (c == '%' && i + 1 < pat.size() && pat[i + 1] == 'f') {
            i += 2;
            if (i < pat.size() && pat[i] == '[') {
                ++i;
                if (i < pat.size() && pat[i] == '^') ++i;
                if (i < pat.size() && pat[i] == ']') ++i;
                while (i < pat.size() && pat[i] != ']') i += (pat[i] == '%') ? 2 : 1;
                ++i;
            }
            continue;
        }
        if (c == '%') {
            i += 2;
        } else if (c == '[') {
            ++i;
            if (i < pat.size() && pat[i] == '^') ++i;
            if (i < pat.size() && pat[i] == ']') ++i;
            while (i < pat.size() && pat[i] != ']') i += (pat[i] == '%') ? 2 : 1;
            ++i;
        } else {
            ++i;
        }
        if (i < pat.size()) {
            char q = pat[i];
            if (q == '*' || q == '+' || q == '-') { ++k; ++i; }
            else if (q == '?') { cost *= 2; ++i; }
        }
    }
    for (int j = 1; j <= k; ++j) cost *= (static_cast<double>(n) + j) / j;
    return cost;
}

// string.find/match/gmatch/gsub: check the inputs, then run the original
// (upvalue 1) on the same stack frame.
int guarded_pattern(lua_State* L) {
    const LuaLimits& lim = impl_of(L)->limits();
    size_t n = 0, plen = 0;
    luaL_checklstring(L, 1, &n);
    const char* pat = luaL_checklstring(L, 2, &plen);
    const char* name = lua_tostring(L, lua_upvalueindex(2));
    int kind = static_cast<int>(lua_tointeger(L, lua_upvalueindex(3)));  // 0 find, 1 match, 2 gmatch, 3 gsub
    if (n > lim.max_pattern_subject)
        return luaL_error(L, "string.%s: subject of %d bytes exceeds the limit of %d", name, static_cast<int>(n),
                          static_cast<int>(lim.max_pattern_subject));
    if (plen > lim.max_pattern_length)
        return luaL_error(L, "string.%s: pattern of %d bytes exceeds the limit of %d", name, static_cast<int>(plen),
                          static_cast<int>(lim.max_pattern_length));
    bool plain = kind == 0 && lua_toboolean(L, 4);
    if (!plain) {
        double cost = pattern_cost(std::string_view(pat, plen), n, kind != 2);
        if (cost > lim.max_pattern_steps) {
            char msg[200];  // lua_pushfstring has no %g
            std::snprintf(msg, sizeof msg,
                          "string.%s: pattern too complex for a %zu-byte subject (worst case %.3g steps, limit "
                          "%.3g); use fewer quantifiers or shorter input",
                          name, n, cost, lim.max_pattern_steps);
            return luaL_error(L, "%s", msg);
        }
    }
    auto original = lua_tocfunction(L, lua_upvalueindex(1));
    return original(L);
}

int guarded_rep(lua_State* L) {
    const LuaLimits& lim = impl_of(L)->limits();
    size_t len = 0, lsep = 0;
    luaL_checklstring(L, 1, &len);
    lua_Integer count = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (count > 0) {
        double total = static_cast<double>(len) * static_cast<double>(count) +
                       static_cast<double>(lsep) * static_cast<double>(count - 1);
        if (total > static_cast<double>(lim.max_string_rep)) {
            char msg[160];
            std::snprintf(msg, sizeof msg, "string.rep: result of %.0f bytes exceeds the limit of %zu", total,
                          lim.max_string_rep);
            return luaL_error(L, "%s", msg);
        }
    }
    auto original = lua_tocfunction(L, lua_upvalueindex(1));
    return original(L);
}

void wrap_string_functions(lua_State* L) {
    // stack: string table at -1
    static const char* const names[] = {"find", "match", "gmatch", "gsub"};
    for (int k = 0; k < 4; ++k) {
        lua_getfield(L, -1, names[k]);
        lua_pushstring(L, names[k]);
        lua_pushinteger(L, k);
        lua_pushcclosure(L, guarded_pattern, 3);
        lua_setfield(L, -2, names[k]);
    }
    lua_getfield(L, -1, "rep");
    lua_pushcclosure(L, guarded_rep, 1);
    lua_setfield(L, -2, "rep");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");  // bytecode: useless without load, and unsafe with it
}

// log(...): tostring'ed arguments joined by spaces, to spdlog at info, at most
// max_log_lines_per_s per second (burst 2x); the excess is counted.
int lua_log(lua_State* L) {
    int n = lua_gettop(L);
    luaL_checkstack(L, n + 2, "too many arguments to log");
    for (int i = 1; i <= n; ++i) {
        luaL_tolstring(L, i, nullptr);
        if (i < n) lua_pushliteral(L, " ");
    }
    lua_concat(L, n > 0 ? 2 * n - 1 : 0);
    LuaHost::Impl* im = impl_of(L);
    double rate = im->limits().max_log_lines_per_s;
    int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    if (im->log_tokens < 0) {
        im->log_tokens = 2 * rate;
    } else {
        im->log_tokens = std::min(2 * rate, im->log_tokens + rate * static_cast<double>(now - im->log_last_ns) / 1e9);
    }
    im->log_last_ns = now;
    if (im->log_tokens < 1) {
        ++im->counters().logs_dropped;
        return 0;
    }
    im->log_tokens -= 1;
    spdlog::info("lua [{}]: {}", im->chunkname(), lua_tostring(L, -1));
    return 0;
}

// setmetatable without __gc: finalizers would run at GC time, inside whichever
// call happens to allocate, outside the rule's own event (non-deterministic).
int guarded_setmetatable(lua_State* L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL) return luaL_error(L, "setmetatable: __gc metamethods are not allowed");
        lua_pop(L, 1);
    }
    auto original = lua_tocfunction(L, lua_upvalueindex(1));
    return original(L);
}

int read_only_newindex(lua_State* L) {
    return luaL_error(L, "library table '%s' is read-only", lua_tostring(L, lua_upvalueindex(1)));
}

// Replaces global `name` by an empty proxy whose reads go to the library and
// whose writes fail; the proxy's metatable is hidden.
void make_read_only(lua_State* L, const char* name) {
    lua_getglobal(L, name);         // lib
    lua_newtable(L);                // lib proxy
    lua_createtable(L, 0, 3);       // lib proxy mt
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, name);
    lua_pushcclosure(L, read_only_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);        // lib proxy
    lua_setglobal(L, name);         // lib
    lua_pop(L, 1);
}

int global_newindex(lua_State* L) {
    LuaHost::Impl* im = impl_of(L);
    ++im->counters().global_writes;
    if (im->counters().global_writes <= 10 && lua_type(L, 2) == LUA_TSTRING)
        spdlog::warn("lua [{}]: writes global '{}' while handling events; globals are shared by every key, "
                     "use `local` or `state`",
                     im->chunkname(), lua_tostring(L, 2));
    lua_rawset(L, 1);
    return 0;
}

}  // namespace

void lua_open_sandbox(lua_State* L) {
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                                    {LUA_TABLIBNAME, luaopen_table},
                                    {LUA_STRLIBNAME, luaopen_string},
                                    {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8}};
    for (const auto& lib : libs) {
        luaL_requiref(L, lib.name, lib.func, 1);
        lua_pop(L, 1);
    }
    for (const char* name : {"dofile", "loadfile", "load", "loadstring", "collectgarbage", "require", "print", "warn"}) {
        lua_pushnil(L);
        lua_setglobal(L, name);
    }
    lua_getglobal(L, LUA_MATHLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "random");  // no unseeded (or wall-clock seeded) randomness: replays must agree
    lua_pushnil(L);
    lua_setfield(L, -2, "randomseed");
    lua_pop(L, 1);
    lua_getglobal(L, LUA_STRLIBNAME);
    wrap_string_functions(L);
    lua_pop(L, 1);
    // Hide the string metatable: getmetatable("") returns false and the shared
    // string methods cannot be swapped out from under the guards.
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    lua_register(L, "log", lua_log);
    lua_getglobal(L, "setmetatable");
    lua_pushcclosure(L, guarded_setmetatable, 1);
    lua_setglobal(L, "setmetatable");
    for (const char* name : {LUA_TABLIBNAME, LUA_STRLIBNAME, LUA_MATHLIBNAME, LUA_UTF8LIBNAME}) make_read_only(L, name);
}

void lua_guard_globals(lua_State* L) {
    lua_pushglobaltable(L);
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, global_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
}

}  // namespace vigil
