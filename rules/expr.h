#pragma once
// The expression language of SPEC 3.1: compiled once, evaluated per event.
//
// compile() reports every problem into Diagnostics with the exact position in the
// source file (the SourcePos of the expression's first character, plus the offset
// inside the text). eval() never throws and, on the per-event path, does not
// allocate: strings it produces live in the EvalContext's scratch buffer.
// A missing field yields Value::Missing, and every comparison with Missing is false.
// Thread rules: a compiled Expr is immutable and may be evaluated from any thread;
// an EvalContext belongs to one thread.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/diagnostics.h"
#include "rules/event.h"
#include "rules/json.h"

namespace vigil {

struct Value {
    enum class Kind : uint8_t { Missing, Null, Bool, Number, String, Json };
    Kind kind = Kind::Missing;
    bool boolean = false;
    double number = 0;
    std::string_view str;  // Kind::String; points into an event, the Expr, or the scratch buffer
    JsonRef json;          // Kind::Json: an object or array inside an event

    static Value missing() { return {}; }
    static Value null() { Value v; v.kind = Kind::Null; return v; }
    static Value of(bool b) { Value v; v.kind = Kind::Bool; v.boolean = b; return v; }
    static Value of(double d) { Value v; v.kind = Kind::Number; v.number = d; return v; }
    static Value of(std::string_view s) { Value v; v.kind = Kind::String; v.str = s; return v; }
    static Value from_json(JsonRef r);
    bool truthy() const;
    // Appends the value as JSON (Missing as null).
    void write_json(std::string& out) const;
};

// Read access to the partial match a pattern condition runs in. Implemented by
// the pattern engine; stage numbers are indices into the rule's pattern stages.
class StageView {
public:
    virtual ~StageView() = default;
    // How many events stage `stage` has accepted so far in this partial match.
    virtual size_t stage_size(int stage) const = 0;
    // The i-th (0-based, arrival order) event accepted by `stage`.
    virtual const Event* stage_event(int stage, size_t i) const = 0;
};

class LuaProgram;  // rules/lua_host.h
class TableLookup;  // reference tables (rules/table_lookup.h)

struct EvalContext {
    const Event* event = nullptr;        // the current event (null in a window's `having`)
    const StageView* stages = nullptr;   // set inside a pattern
    const Value* vars = nullptr;         // named values, e.g. a window's aggregates, in ExprScope::vars order
    LuaProgram* lua = nullptr;           // the rule's Lua program, for lua.NAME(...)
    const TableLookup* tables = nullptr;  // null: the thread's (current_table_lookup())
    std::string* scratch = nullptr;      // storage for strings made during evaluation; may be null
    uint64_t* type_errors = nullptr;     // incremented when a runtime type mismatch yields false
};

// What names an expression may use besides the current event's fields.
struct ExprScope {
    std::vector<std::string> stages;  // pattern stage names, in order
    int self_stage = -1;              // the stage whose where/until is being compiled
    std::vector<std::string> vars;    // named values (window aggregate names)
    bool has_event = true;            // false in a window's `having`: only vars are visible
    const LuaProgram* lua = nullptr;  // for checking lua.NAME exists; null: no Lua in this rule
    const std::vector<std::string>* tables = nullptr;  // table names for table(); null: not checked
};

class Expr {
public:
    virtual ~Expr() = default;
    virtual Value eval(const EvalContext& ctx) const = 0;
    // eval(ctx).truthy(), without building the Value where the expression allows.
    virtual bool test(const EvalContext& ctx) const { return eval(ctx).truthy(); }
    const std::string& source() const { return source_; }
    // Whether the expression has a `table("name", KEY).path` lookup whose KEY is a
    // field of the event or $key, and asks `tables` to read those slots ahead
    // (TableLookup::prefetch) for `event`: PartitionEngine::prefetch calls it a few
    // events before the event is evaluated.
    // True, with the member's name and the text, when the expression is exactly
    // `NAME == "TEXT"` on a top-level member of the event: test() is then true
    // exactly when that member is the string TEXT, false when it is missing (the
    // engine reads the member once for every rule whose `where` compares it).
    virtual bool string_equality(std::string_view& /*name*/, std::string_view& /*text*/) const { return false; }
    // A bare top-level member NAME of the event: eval() is then
    // Value::from_json(event.root()[NAME]) (an aggregate's argument reads it in place).
    virtual bool member_read(std::string_view& /*name*/) const { return false; }
    virtual bool reads_tables() const { return false; }
    // Whether the value depends on the event's payload alone: no metadata ($key,
    // time, topic...), stage, variable, table or Lua (rules/precomputed.h evaluates
    // such conditions ahead, on another thread).
    virtual bool reads_payload_only() const { return false; }
    virtual void prefetch_tables(const Event&, const TableLookup&) const {}

    // nullptr when there were errors (all reported into `diags`).
    static std::shared_ptr<const Expr> compile(std::string_view text, const ExprScope& scope,
                                               const SourcePos& at, Diagnostics& diags);

protected:
    std::string source_;
};
using ExprPtr = std::shared_ptr<const Expr>;

}  // namespace vigil
