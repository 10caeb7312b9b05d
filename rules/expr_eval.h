#pragma once
// Private to rules/expr*.cpp: the evaluator of a compiled Program.
//
// Strings made during evaluation (concatenation, lower/upper, Lua results) are
// appended to the scratch buffer and referred to by offset (Val::in_scratch)
// while evaluation runs, so a buffer that grows (and moves) never leaves a
// dangling view; run() keeps only the result string and gives the rest back.
// Nothing here throws; nothing allocates except regex matching and scratch growth.
#include <cstring>
#include <string>
#include <string_view>

#include "rules/expr_program.h"
#include "rules/same_bytes.h"
#include "rules/table_lookup.h"

namespace vigil::expr {

using Kind = Value::Kind;

struct Val {
    Kind kind = Kind::Missing;
    bool boolean = false;
    bool in_scratch = false;  // a string at [off, off + len) of the scratch buffer
    uint32_t off = 0, len = 0;
    double number = 0;
    std::string_view str;
    JsonRef json;

    static Val num(double d) { Val v; v.kind = Kind::Number; v.number = d; return v; }
    static Val of(bool b) { Val v; v.kind = Kind::Bool; v.boolean = b; return v; }
    static Val string(std::string_view s) { Val v; v.kind = Kind::String; v.str = s; return v; }
};

inline Val from(const Value& x) {
    Val v;
    v.kind = x.kind;
    v.boolean = x.boolean;
    v.number = x.number;
    v.str = x.str;
    v.json = x.json;
    return v;
}

inline Val from_json(JsonRef r) {
    Val v;
    if (!r.valid()) return v;
    const JsonDoc::Node& n = r.doc()->node(r.index());
    switch (n.type) {
    case JsonType::Null: v.kind = Kind::Null; break;
    case JsonType::Bool: v.kind = Kind::Bool; v.boolean = n.boolean; break;
    case JsonType::Number: v.kind = Kind::Number; v.number = n.number; break;
    case JsonType::String: v.kind = Kind::String; v.str = r.doc()->str(n); break;
    default: v.kind = Kind::Json; v.json = r; break;
    }
    return v;
}


inline JsonRef member(JsonRef v, std::string_view key) {
    if (!v.valid()) return {};
    const JsonDoc* d = v.doc();
    const JsonDoc::Node& obj = d->node(v.index());
    if (obj.type != JsonType::Object) return {};
    uint32_t i = v.index() + 1;
    while (i < obj.end) {
        const JsonDoc::Node& k = d->node(i);
        if (k.span.len == key.size() && same_bytes(d->str(k).data(), key.data(), key.size())) {
            return JsonRef(d, i + 1);
        }
        i = d->node(i + 1).end;
    }
    return {};
}

inline JsonRef element(JsonRef v, int32_t idx) {
    if (!v.valid()) return {};
    const JsonDoc::Node& arr = v.doc()->node(v.index());
    if (arr.type != JsonType::Array) return {};
    int64_t k = idx < 0 ? static_cast<int64_t>(arr.count) + idx : idx;
    if (k < 0 || k >= static_cast<int64_t>(arr.count)) return {};
    return v.at(static_cast<size_t>(k));
}

inline JsonRef follow(JsonRef v, const PathSeg* segs, uint32_t n) {
    for (uint32_t i = 0; i < n && v.valid(); ++i) {
        v = segs[i].is_index ? element(v, segs[i].index) : member(v, segs[i].key);
    }
    return v;
}

// `a OP b` for a comparison operator (Eq..Ge).
inline bool compare_numbers(Op op, double a, double b) {
    switch (op) {
    case Op::Eq: return a == b;
    case Op::Ne: return a != b;
    case Op::Lt: return a < b;
    case Op::Le: return a <= b;
    case Op::Gt: return a > b;
    default: return a >= b;
    }
}

constexpr uint32_t kNoNode = UINT32_MAX;
static_assert(kNoNode == JsonDoc::kNoMember);

// The index of the value of member `key` of the document's root object, or kNoNode:
// the lookup of almost every condition, on the node array (nodes are contiguous)
// rather than through JsonRef, keys compared by length first.
inline uint32_t root_member(const JsonDoc& d, std::string_view key) {
    if (d.empty() || d.node(0).type != JsonType::Object) return kNoNode;
    return d.member_index(0, key);  // kNoMember == kNoNode
}

// The node index of a Field node's value in the event's document, or kNoNode.
uint32_t path_index(const Event& ev, const Node& n);
inline uint32_t field_at(const Event& ev, const Node& n) {
    return n.nsegs == 1 && !n.segs->is_index ? root_member(ev.doc, n.segs->key) : path_index(ev, n);
}

// Deep equality of two JSON values (objects: same members, any order).
bool json_equal(JsonRef a, JsonRef b);

class Evaluator {
public:
    Evaluator(const Program& p, const EvalContext& ctx) : p_(p), ctx_(ctx), s_(ctx.scratch) {}

    Value run();
    bool test(uint32_t i);                      // truthiness of node i
    bool test_child(uint32_t i) {               // saves a dispatch for the common operand of && and ||
        const Node& c = p_.nodes[i];
        return c.op == Op::CmpFieldConst ? cmp_field_const(c) : test(i);
    }
    bool cmp_field_const(const Node& n) const;  // the fused `field OP literal`
    bool cmp_field_table(const Node& n);        // the fused `field OP table(...).path`
    // TableLookup::prefetch for the lookup a TableField node will make (its key evaluated the same way).
    void prefetch_table_field(const Node& n);

private:
    std::string_view sv(const Val& v) const {
        return v.in_scratch ? std::string_view(s_->data() + v.off, v.len) : v.str;
    }
    Value to_value(const Val& v) const {
        if (v.kind == Kind::String) return Value::of(sv(v));
        Value x;
        x.kind = v.kind;
        x.boolean = v.boolean;
        x.number = v.number;
        x.json = v.json;
        return x;
    }
    std::string& scratch();
    Val scratch_string(size_t off) {
        Val v;
        v.kind = Kind::String;
        v.in_scratch = true;
        v.off = static_cast<uint32_t>(off);
        v.len = static_cast<uint32_t>(s_->size() - off);
        return v;
    }
    // Adopts a Value whose string may point into the scratch buffer.
    Val adopt(const Value& x);
    void type_error() const {
        if (ctx_.type_errors) ++*ctx_.type_errors;
    }

    Val meta(const Event* ev, Meta m) const;
    Val of_event(const Event* ev, const Node& n) const;
    bool equal(const Val& a, const Val& b) const;
    bool equal_literal(const Val& a, const Value& b) const;
    bool compare(Op op, const Val& a, const Val& b) const;
    Val arith(Op op, const Val& a, const Val& b);
    bool truthy(const Val& v) const {
        if (v.kind == Kind::String) return v.in_scratch ? v.len > 0 : !v.str.empty();
        return to_value(v).truthy();
    }

    bool cmp_field_slow(const Node& n, JsonRef r) const;
    bool test_value(uint32_t i);
    Val stage_event(const Node& n) const;
    Val stage_agg(const Node& n) const;
    Val in_list(const Node& n);
    Val in_value(const Node& n);
    Val matches(const Node& n);
    Val call(const Node& n);
    Val lua_call(const Node& n);
    Val table_row(const Node& n);
    Val table_field(const Node& n);
    TableLookup::Field table_lookup_field(const Node& n);
    const TableLookup* table_key(const Node& n, char (&buf)[32], std::string_view& key);

public:
    Val eval(uint32_t i);

private:
    const Program& p_;
    const EvalContext& ctx_;
    std::string* s_;
};

}  // namespace vigil::expr
