#pragma once
// Private to rules/expr*.cpp: the compiled form of an expression.
//
// A Program is a flat vector of nodes (children referenced by index, the root is
// the last node), field paths split once at compile time, string literals and
// regexes owned by the program. Evaluation walks the nodes recursively; the
// depth is bounded at compile time (kMaxDepth) so evaluation cannot overflow the
// stack, and nothing in it allocates except regex matching and the scratch buffer.
#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "rules/expr.h"

namespace vigil::expr {

constexpr int kMaxDepth = 200;     // nesting of the compiled tree
constexpr size_t kMaxArgs = 16;    // arguments of one call
constexpr size_t kMaxRegexInput = 64 * 1024;  // longer strings do not `match` (counted)

enum class Op : uint8_t {
    Const,       // value
    Field,       // path on the current event
    Meta,        // meta of the current event
    Var,         // index
    Access,      // a: value, path on it
    StageEvent,  // stage, index (kLast: its last event), path or meta
    StageAgg,    // agg over every event of stage: path
    Not, Neg,    // a
    And, Or,     // a, b
    Eq, Ne, Lt, Le, Gt, Ge,  // a, b
    Add, Sub, Mul, Div, Mod,  // a, b
    CmpFieldConst,  // cmp (Eq..Ge) between field `path` and constant `value`
    CmpFieldTable,  // cmp (Eq..Ge) between a: a Field and b: a TableField (`temp > table("d", device).max`)
    In,          // a in args[]
    InValue,     // a in b (an array value)
    Matches,     // a matches regexes[index]
    Cond,        // a ? b : c
    Call,        // fn(args[])
    LuaCall,     // lua.strings[index](args[])
    Table,       // table(value, a): a row of a reference table (rules/table_lookup.h)
    TableField,  // table(value, a).path: a field of that row, in one lookup
};

enum class Meta : uint8_t { None, Time, Key, Topic, Partition, Offset, Event };
enum class Fn : uint8_t {
    Abs, Min, Max, Round, Floor, Ceil, Len, Lower, Upper, StartsWith, EndsWith, Contains, Exists,
};
enum class Agg : uint8_t { Sum, Avg, Min, Max, Count };

// The static type of a node, when the compiler knows it.
enum class Type : uint8_t { Any, Null, Bool, Number, String };

constexpr int32_t kLast = INT32_MIN;  // StageEvent: the stage's last event

struct PathSeg {
    std::string key;
    int32_t index = -1;  // >= 0 or negative (from the end) for arrays; key empty then
    bool is_index = false;
};

struct Path {
    std::vector<PathSeg> segs;
};

struct Node {
    Op op = Op::Const;
    Op cmp = Op::Eq;          // CmpFieldConst, CmpFieldTable
    Meta meta = Meta::None;   // Meta, StageEvent
    Fn fn = Fn::Abs;          // Call
    Agg agg = Agg::Sum;       // StageAgg
    Type type = Type::Any;
    uint32_t a = 0, b = 0, c = 0;  // children
    uint32_t args = 0, nargs = 0;  // into Program::args
    int32_t path = -1;        // into Program::paths; -1: none
    const PathSeg* segs = nullptr;  // Program::paths[path].segs, set once compiled
    uint32_t nsegs = 0;
    int32_t index = 0;        // var / stage event / regex / lua name
    int32_t stage = -1;
    uint32_t pos = 0;         // offset in the source text (for diagnostics)
    uint16_t depth = 1;
    Value value;              // Const, CmpFieldConst (strings point into Program::strings)
    uint64_t site = 0;        // TableField: TableLookup::new_site()
};

struct Program {
    std::vector<Node> nodes;
    std::vector<uint32_t> args;
    std::vector<Path> paths;
    std::vector<std::unique_ptr<std::string>> strings;  // stable addresses for string_views
    std::vector<std::regex> regexes;
    uint32_t root = 0;
    bool uses_scratch = false;  // some node may make a string (+, lower, upper, lua.*)
};

// The Expr that evaluates a compiled program (expr_eval.cpp).
std::shared_ptr<const Expr> make_expr(std::string_view text, std::shared_ptr<const Program> p);

}  // namespace vigil::expr
