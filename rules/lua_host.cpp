// The lua_State lifecycle: capped allocator, instruction budget, protected calls,
// error classification and the LuaProgram interface used by expressions.
#include "rules/lua_host.h"

#include <lua.hpp>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdlib>
#include <cstring>

#include "rules/lua_internal.h"

namespace vigil {

namespace {

constexpr int kHookStep = 1000;
// Lua truncates long chunk names in messages; a short fixed id keeps them
// parseable, and map_message() swaps in the real name and file line.
#define kChunkId "rule"

void* capped_alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
    auto* im = static_cast<LuaHost::Impl*>(ud);
    size_t old = ptr ? osize : 0;  // with ptr == NULL, osize is a type tag
    if (nsize == 0) {
        std::free(ptr);
        im->mem_used -= old;
        return nullptr;
    }
    if (nsize > old && im->enforce_cap && im->mem_used - old + nsize > im->mem_limit) return nullptr;
    void* p = std::realloc(ptr, nsize);
    if (!p) return nullptr;
    im->mem_used = im->mem_used - old + nsize;
    return p;
}

void count_hook(lua_State* L, lua_Debug*) {
    LuaHost::Impl* im = impl_of(L);
    im->executed += static_cast<uint64_t>(im->hook_step);
    if (im->executed <= im->instr_limit) return;
    im->cpu_overrun = true;
    if (im->hook_step != 1) {
        // From now on every instruction raises, so a script's own pcall cannot
        // swallow the error and keep running.
        im->hook_step = 1;
        lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    }
    luaL_error(L, "cpu budget exceeded (%d instructions)", static_cast<int>(im->instr_limit));
}

int at_panic(lua_State* L) {
    const char* msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
    spdlog::critical("lua: unprotected error: {}", msg);
    std::abort();
}

}  // namespace

LuaHost::Impl* impl_of(lua_State* L) { return *static_cast<LuaHost::Impl**>(lua_getextraspace(L)); }

LuaHost::~LuaHost() {
    if (L_) lua_close(L_);
}

size_t LuaHost::memory_used() const { return impl_ ? impl_->mem_used : 0; }

void LuaHost::collect_garbage() {
    if (L_) lua_gc(L_, LUA_GCCOLLECT);  // no __gc finalizers exist: cannot raise
}

bool LuaHost::open(std::string_view source, std::string& error) {
    impl_ = std::make_unique<Impl>();
    impl_->host = this;
    impl_->mem_limit = limits_.memory_bytes;
    impl_->instr_limit = limits_.instructions;
    L_ = lua_newstate(capped_alloc, impl_.get());
    if (!L_) {
        error = "cannot create a Lua state within the memory cap";
        return false;
    }
    *static_cast<Impl**>(lua_getextraspace(L_)) = impl_.get();
    lua_atpanic(L_, at_panic);
    lua_sethook(L_, count_hook, LUA_MASKCOUNT, kHookStep);
    impl_->hook_step = kHookStep;
    lua_gc(L_, LUA_GCGEN, 0, 0);

    struct Load {
        std::string_view src;
        const char* name;
    } load{source, "=" kChunkId};
    auto setup = [](lua_State* L) -> int {
        auto* ld = static_cast<Load*>(lua_touserdata(L, 1));
        lua_open_sandbox(L);
        if (luaL_loadbufferx(L, ld->src.data(), ld->src.size(), ld->name, "t") != LUA_OK) return lua_error(L);
        lua_call(L, 0, 0);
        lua_guard_globals(L);
        return 0;
    };
    if (run(setup, &load, false) != LuaStatus::Ok) {
        error = last_error_;
        return false;
    }
    return true;
}

LuaStatus LuaHost::run(LuaFn fn, void* ud, bool user_code) {
    if (disabled_ && user_code) return LuaStatus::Disabled;
    int base = lua_gettop(L_);
    lua_pushcfunction(L_, fn);  // light C function and light userdata: no allocation
    lua_pushlightuserdata(L_, ud);
    LuaStatus st = pcall_at(base, 1, user_code);
    if (st == LuaStatus::Ok) lua_settop(L_, base);
    return st;
}

LuaStatus LuaHost::pcall_at(int base, int nargs, bool user_code) {
    lua_State* L = L_;
    impl_->executed = 0;
    impl_->cpu_overrun = false;
    if (impl_->hook_step != kHookStep) {
        impl_->hook_step = kHookStep;
        lua_sethook(L, count_hook, LUA_MASKCOUNT, kHookStep);
    }
    if (user_code) ++counters_.calls;
    int st = lua_pcall(L, nargs, user_code ? 1 : 0, 0);
    if (st == LUA_OK) {
        if (user_code) counters_.consecutive_overruns = 0;
        return LuaStatus::Ok;
    }
    std::string_view msg = lua_type(L, -1) == LUA_TSTRING ? std::string_view(lua_tostring(L, -1))
                                                            : std::string_view("(error object is not a string)");
    LuaStatus status;
    if (impl_->cpu_overrun) {
        status = LuaStatus::CpuOverrun;
        last_error_ = "lua: cpu budget exceeded (" + std::to_string(limits_.instructions) + " instructions)";
    } else if (st == LUA_ERRMEM) {
        status = LuaStatus::MemoryOverrun;
        last_error_ = "lua: memory cap exceeded (" + std::to_string(limits_.memory_bytes) + " bytes)";
    } else {
        status = LuaStatus::RuntimeError;
        last_error_ = "lua: " + map_message(msg);
    }
    lua_settop(L, base);
    if (status == LuaStatus::MemoryOverrun) lua_gc(L, LUA_GCCOLLECT);
    if (!user_code) return status;
    if (status == LuaStatus::RuntimeError) {
        ++counters_.runtime_errors;
        return status;
    }
    if (status == LuaStatus::CpuOverrun) ++counters_.cpu_overruns;
    if (status == LuaStatus::MemoryOverrun) ++counters_.memory_overruns;
    if (++counters_.consecutive_overruns >= limits_.max_consecutive_overruns && !disabled_) {
        disabled_ = true;
        spdlog::warn("lua [{}]: disabled after {} consecutive budget overruns (last: {})", chunkname_,
                     counters_.consecutive_overruns, last_error_);
    }
    return status;
}

std::string LuaHost::map_message(std::string_view msg) const {
    // Lua prefixes errors with "rule:LINE:"; rewrite to "<chunkname>:<file line>:".
    constexpr std::string_view id = kChunkId ":";
    std::string out;
    size_t i = 0;
    for (;;) {
        size_t hit = msg.find(id, i);
        if (hit == std::string_view::npos) break;
        size_t p = hit + id.size();
        size_t q = p;
        while (q < msg.size() && msg[q] >= '0' && msg[q] <= '9') ++q;
        bool word_start = hit == 0 || !(std::isalnum(static_cast<unsigned char>(msg[hit - 1])) || msg[hit - 1] == '_');
        out.append(msg.substr(i, hit - i));
        if (word_start && q > p && q < msg.size() && msg[q] == ':') {
            int line = std::atoi(std::string(msg.substr(p, q - p)).c_str());
            int first = at_.line > 0 ? at_.line : 1;
            out += chunkname_ + ':' + std::to_string(first + line - 1);
            i = q;
        } else {
            out.append(msg.substr(hit, p - hit));
            i = p;
        }
    }
    out.append(msg.substr(i));
    return out;
}

int LuaHost::function_ref(std::string_view name) const {
    for (const auto& [n, ref] : fn_refs_)
        if (n == name) return ref;
    int ref = LUA_NOREF;
    struct Find {
        std::string_view name;
        int* ref;
    } f{name, &ref};
    auto find = [](lua_State* L) -> int {
        auto* fd = static_cast<Find*>(lua_touserdata(L, 1));
        lua_pushglobaltable(L);
        lua_pushlstring(L, fd->name.data(), fd->name.size());
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TFUNCTION) {
            *fd->ref = luaL_ref(L, LUA_REGISTRYINDEX);
        }
        return 0;
    };
    const_cast<LuaHost*>(this)->run(find, &f, false);
    fn_refs_.emplace_back(std::string(name), ref);
    return ref;
}

bool LuaHost::has_function(std::string_view name) const { return function_ref(name) != LUA_NOREF; }

Value LuaHost::call(std::string_view name, const Value* args, size_t nargs, std::string& scratch) {
    if (disabled_) return Value::missing();
    int ref = function_ref(name);
    if (ref == LUA_NOREF) {
        ++counters_.runtime_errors;
        last_error_ = "lua: no function '" + std::string(name) + "'";
        return Value::missing();
    }
    lua_State* L = L_;
    int base = lua_gettop(L);
    if (!lua_checkstack(L, static_cast<int>(nargs) + 4)) {
        ++counters_.runtime_errors;
        last_error_ = "lua: too many arguments";
        return Value::missing();
    }
    // The arguments are pushed outside protected mode (a trampoline would cost a
    // third of the call), so the cap is lifted while they are: a memory error
    // here could not be caught. They are bounded by the event size.
    impl_->enforce_cap = false;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    for (size_t i = 0; i < nargs; ++i) lua_push_value(L, args[i]);
    impl_->enforce_cap = true;
    if (pcall_at(base, static_cast<int>(nargs), true) != LuaStatus::Ok) return Value::missing();
    Value result;
    switch (lua_type(L, -1)) {
    case LUA_TNIL: result = Value::null(); break;
    case LUA_TBOOLEAN: result = Value::of(lua_toboolean(L, -1) != 0); break;
    case LUA_TNUMBER: result = Value::of(static_cast<double>(lua_tonumber(L, -1))); break;
    case LUA_TSTRING: {
        size_t len = 0;
        const char* s = lua_tolstring(L, -1, &len);
        size_t off = scratch.size();
        scratch.append(s, len);
        result = Value::of(std::string_view(scratch.data() + off, len));
        break;
    }
    default: break;  // tables, functions: no Value form
    }
    lua_settop(L, base);
    return result;
}

std::shared_ptr<LuaHost> LuaHost::clone() const {
    Diagnostics diags;
    return compile_lua(source_, chunkname_, limits_, at_, diags);
}

std::shared_ptr<LuaHost> compile_lua(std::string_view source, const std::string& chunkname, const LuaLimits& limits,
                                     const SourcePos& at, Diagnostics& diags) {
    std::shared_ptr<LuaHost> host(new LuaHost());
    host->limits_ = limits;
    host->source_ = std::string(source);
    host->chunkname_ = chunkname.empty() ? std::string("lua") : chunkname;
    host->at_ = at;
    std::string error;
    if (host->open(source, error)) return host;
    // Report at the mapped line: "lua: <file>:<line>: msg" carries it.
    SourcePos pos = at;
    std::string msg = error;
    std::string prefix = "lua: " + host->chunkname_ + ":";
    if (msg.compare(0, prefix.size(), prefix) == 0) {
        size_t q = prefix.size();
        while (q < msg.size() && msg[q] >= '0' && msg[q] <= '9') ++q;
        if (q > prefix.size() && q < msg.size() && msg[q] == ':') {
            pos.line = std::atoi(msg.substr(prefix.size(), q - prefix.size()).c_str());
            if (pos.col <= 0) pos.col = 1;
            size_t rest = q + 1;
            while (rest < msg.size() && msg[rest] == ' ') ++rest;
            msg = "lua: " + msg.substr(rest);
        }
    }
    diags.error(pos, msg);
    return nullptr;
}

}  // namespace vigil
