#pragma once
// The Lua 5.4 host (SPEC 3.4): one sandboxed lua_State per rule version.
//
// Sandbox: only base, table, string, math, utf8; no load/dofile/loadfile/io/os/
// package/debug; text chunks only; an instruction budget per call (count hook);
// a memory cap per state (allocator); string pattern functions guarded against
// runaway patterns. A call that exceeds a budget fails with a clear error and is
// counted; after repeated overruns the rule is disabled.
// Thread rules: a LuaProgram is used by one thread at a time; a worker that
// evaluates `lua.NAME(...)` needs its own LuaHost::clone() of the rule's program.
// The two LuaProgram calls are what the expression evaluator uses; the rest is
// for runtimes (patterns/lua_runtime.h) and the rule loader (compile_lua).
//
// Guarantees of LuaHost (the implementation):
//  - compile_lua() never throws; a syntax error or an error while running the
//    chunk's top level is reported as `file:line:col: error: lua: <message>`,
//    where line = the first line of the `lua: |` block + the chunk line - 1.
//  - every call into Lua is a protected call: a Lua error cannot escape into C++;
//    it stops after `LuaLimits::instructions` VM instructions (cpu overrun) or
//    when the state would grow past `LuaLimits::memory_bytes` (memory overrun).
//    C library functions cannot be interrupted by the hook, so the ones that can
//    run long (string.find/match/gmatch/gsub, string.rep) refuse inputs whose
//    worst-case cost exceeds the limits below, with an error naming the limit.
//  - after `max_consecutive_overruns` overruns in a row the host is disabled:
//    every later call returns at once (call() yields Value::missing()).
//  - nothing in the sandbox reads the wall clock or a random source, so a replay
//    of the same calls gives the same results (math.random is removed).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/diagnostics.h"
#include "rules/expr.h"

struct lua_State;

namespace vigil {

class LuaProgram {
public:
    virtual ~LuaProgram() = default;
    // Does the program define a global function `name`?
    virtual bool has_function(std::string_view name) const = 0;
    // Calls `name(args...)` and converts its first result; a Lua error or budget
    // overrun yields Value::missing() and is counted. Strings returned live in `scratch`.
    virtual Value call(std::string_view name, const Value* args, size_t nargs, std::string& scratch) = 0;
};

struct LuaLimits {
    uint64_t instructions = 1'000'000;      // VM instructions per call
    size_t memory_bytes = size_t(8) << 20;  // per lua_State
    uint32_t max_consecutive_overruns = 3;  // then the program disables itself
    size_t max_pattern_subject = 64 * 1024;  // string.find & co: subject bytes
    size_t max_pattern_length = 256;         // string.find & co: pattern bytes
    double max_pattern_steps = 5e7;          // worst-case backtracking steps estimate
    size_t max_string_rep = size_t(1) << 20;  // string.rep result bytes
    int max_log_lines_per_s = 10;             // log(...) rate limit (burst: 2x)
};

enum class LuaStatus { Ok, RuntimeError, CpuOverrun, MemoryOverrun, Disabled };

struct LuaCounters {
    uint64_t calls = 0;
    uint64_t runtime_errors = 0;
    uint64_t cpu_overruns = 0;
    uint64_t memory_overruns = 0;
    uint32_t consecutive_overruns = 0;
    uint64_t global_writes = 0;  // assignments to new globals after load (warned)
    uint64_t logs_dropped = 0;   // log(...) lines over the rate limit
};

class LuaHost final : public LuaProgram {
public:
    ~LuaHost() override;
    LuaHost(const LuaHost&) = delete;
    LuaHost& operator=(const LuaHost&) = delete;

    bool has_function(std::string_view name) const override;
    Value call(std::string_view name, const Value* args, size_t nargs, std::string& scratch) override;

    // A fresh state running the same source with the same limits (one per
    // partition runtime: a lua_State is single-threaded). Null if that fails.
    std::shared_ptr<LuaHost> clone() const;

    // For runtimes that drive the state themselves: runs fn(L) in protected
    // mode, with `ud` as a light userdata at stack index 1, under the call's
    // instruction budget. Everything that touches the state (pushing arguments
    // allocates, and may fail on the memory cap) belongs inside fn. On any status
    // but Ok, last_error() says why and the stack is as before. `user_code`
    // calls are counted and feed the overrun/disable logic; host-internal work
    // (state serialization) is not.
    using LuaFn = int (*)(lua_State* L);
    LuaStatus run(LuaFn fn, void* ud, bool user_code = true);
    lua_State* state() const { return L_; }

    bool disabled() const { return disabled_; }
    const LuaCounters& counters() const { return counters_; }
    const std::string& last_error() const { return last_error_; }
    const LuaLimits& limits() const { return limits_; }
    size_t memory_used() const;
    // A full garbage collection (after dropping state).
    void collect_garbage();
    const std::string& chunkname() const { return chunkname_; }
    // Lua's "name:LINE:" locations rewritten to file lines.
    std::string map_message(std::string_view msg) const;

    // Internal (used by the C callbacks of the sandbox).
    struct Impl;

private:
    friend std::shared_ptr<LuaHost> compile_lua(std::string_view, const std::string&, const LuaLimits&,
                                                const SourcePos&, Diagnostics&);
    LuaHost() = default;
    bool open(std::string_view source, std::string& error);
    int function_ref(std::string_view name) const;
    // lua_pcall of the function and `nargs` arguments above `base`, with the
    // budget reset; user calls keep one result on the stack on Ok.
    LuaStatus pcall_at(int base, int nargs, bool user_code);

    lua_State* L_ = nullptr;
    std::unique_ptr<Impl> impl_;
    LuaLimits limits_;
    std::string source_;
    std::string chunkname_;
    SourcePos at_;
    LuaCounters counters_;
    std::string last_error_;
    bool disabled_ = false;
    mutable std::vector<std::pair<std::string, int>> fn_refs_;  // name -> registry ref (LUA_NOREF: none)
};

// Compiles `source` (a Lua chunk) in a fresh sandboxed state and runs its top
// level (which defines the rule's functions). `chunkname` names the chunk in Lua
// messages (normally the rule file); `at` is where the chunk's first line sits in
// that file. Returns null, with the error in `diags`, when it does not compile or
// its top level fails.
std::shared_ptr<LuaHost> compile_lua(std::string_view source, const std::string& chunkname,
                                     const LuaLimits& limits, const SourcePos& at, Diagnostics& diags);

// Converts the value at `index` of the state's stack to compact JSON: tables with
// keys 1..n only are arrays, other tables objects with keys in sorted order;
// functions and userdata are written as strings. Depth is capped (deeper: null).
void lua_value_to_json(lua_State* L, int index, std::string& out);
// Pushes a Value (Kind::Json becomes a table) onto the state's stack.
void lua_push_value(lua_State* L, const Value& v);
// Pushes a JSON value as Lua (objects and arrays become tables, null becomes nil).
void lua_push_json(lua_State* L, JsonRef v);
// Pushes an event as a table: its payload's members plus "$time", "$key",
// "$topic", "$stream", "$partition", "$offset".
void lua_push_event(lua_State* L, const Event& ev);

// The compact, deterministic byte form of plain Lua data (nil, booleans,
// integers, floats, strings and tables of them, nested up to 32 deep; table
// entries in a canonical order), for checkpoints of rule state. Functions,
// userdata and cycles are refused: false, with `error` set. Does not allocate
// inside the state, so it may run outside LuaHost::run().
bool lua_serialize(lua_State* L, int index, std::string& out, std::string* error);
// Pushes the value decoded from `bytes` (which must hold exactly one value) and
// returns true; on malformed input pushes nothing and returns false. Allocates
// in the state: call it inside LuaHost::run().
bool lua_deserialize(lua_State* L, std::string_view bytes, std::string* error);

}  // namespace vigil
