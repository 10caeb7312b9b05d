#pragma once
// The Lua 5.4 host (SPEC 3.4): one sandboxed lua_State per rule version.
//
// Sandbox: only base, table, string, math, utf8; no load/dofile/loadfile/io/os/
// package/debug; text chunks only; an instruction budget per call (count hook);
// a memory cap per state (allocator); string pattern functions guarded against
// runaway patterns. A call that exceeds a budget fails with a clear error and is
// counted; after repeated overruns the rule is disabled.
// Thread rules: a LuaProgram is used by one thread at a time.
// (Owned by the rules issue: extend as needed; the two calls below are what the
// expression evaluator uses.)
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "rules/expr.h"

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

}  // namespace vigil
