// Evaluation of a compiled Program: dispatch, comparisons, arithmetic, stage
// references and aggregates. Functions and Lua calls are in expr_functions.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <regex>

#include "rules/expr_eval.h"

namespace vigil::expr {

bool json_equal(JsonRef a, JsonRef b) {
    const JsonDoc::Node& na = a.doc()->node(a.index());
    const JsonDoc::Node& nb = b.doc()->node(b.index());
    if (na.type != nb.type) return false;
    switch (na.type) {
    case JsonType::Null: return true;
    case JsonType::Bool: return na.boolean == nb.boolean;
    case JsonType::Number: return na.number == nb.number;
    case JsonType::String: return a.doc()->str(na) == b.doc()->str(nb);
    case JsonType::Array:
        if (na.count != nb.count) return false;
        for (size_t i = 0; i < na.count; ++i)
            if (!json_equal(a.at(i), b.at(i))) return false;
        return true;
    case JsonType::Object:
        if (na.count != nb.count) return false;
        for (size_t i = 0; i < na.count; ++i) {
            JsonRef other = member(b, a.member_name(i));
            if (!other.valid() || !json_equal(a.member_value(i), other)) return false;
        }
        return true;
    }
    return false;
}

Value Evaluator::run() {
    size_t entry = s_ ? s_->size() : 0;
    if (p_.nodes[p_.root].type == Type::Bool) {  // conditions: no Val on the way out
        bool b = test(p_.root);
        if (s_ && s_->size() != entry) s_->resize(entry);
        return Value::of(b);
    }
    Val r = eval(p_.root);
    if (!s_) return to_value(r);
    if (r.in_scratch) {
        std::memmove(s_->data() + entry, s_->data() + r.off, r.len);
        s_->resize(entry + r.len);
        return Value::of(std::string_view(s_->data() + entry, r.len));
    }
    s_->resize(entry);
    return to_value(r);
}

std::string& Evaluator::scratch() {
    if (!s_) {
        // No buffer given: strings live until the next evaluation on this thread.
        thread_local std::string fallback;
        fallback.clear();
        s_ = &fallback;
    }
    if (s_->capacity() < 256) s_->reserve(256);
    return *s_;
}

Val Evaluator::adopt(const Value& x) {
    Val v = from(x);
    if (v.kind == Kind::String && s_ && !x.str.empty()) {
        auto p = reinterpret_cast<uintptr_t>(x.str.data());
        auto b = reinterpret_cast<uintptr_t>(s_->data());
        if (p >= b && p + x.str.size() <= b + s_->size()) {
            v.in_scratch = true;
            v.off = static_cast<uint32_t>(p - b);
            v.len = static_cast<uint32_t>(x.str.size());
        }
    }
    return v;
}

Val Evaluator::meta(const Event* ev, Meta m) const {
    if (!ev) return {};
    switch (m) {
    case Meta::Time: return Val::num(static_cast<double>(ev->time));
    case Meta::Key: return Val::string(ev->key);
    case Meta::Topic: return Val::string(ev->topic);
    case Meta::Partition: return Val::num(ev->partition);
    case Meta::Offset: return Val::num(static_cast<double>(ev->offset));
    case Meta::Event: return from_json(ev->root());
    case Meta::None: break;
    }
    return {};
}

Val Evaluator::of_event(const Event* ev, const Node& n) const {
    if (!ev) return {};
    if (n.meta != Meta::None) return meta(ev, n.meta);
    JsonRef r = ev->root();
    r = follow(r, n.segs, n.nsegs);
    return from_json(r);
}

bool Evaluator::equal(const Val& a, const Val& b) const {
    if (a.kind != b.kind) return false;
    switch (a.kind) {
    case Kind::Missing: return false;
    case Kind::Null: return true;
    case Kind::Bool: return a.boolean == b.boolean;
    case Kind::Number: return a.number == b.number;
    case Kind::String: return sv(a) == sv(b);
    case Kind::Json: return json_equal(a.json, b.json);
    }
    return false;
}

bool Evaluator::compare(Op op, const Val& a, const Val& b) const {
    if (a.kind == Kind::Missing || b.kind == Kind::Missing) return false;
    if (a.kind == Kind::Number && b.kind == Kind::Number) return compare_numbers(op, a.number, b.number);
    if (op == Op::Eq || op == Op::Ne) {
        bool nulls = a.kind == Kind::Null || b.kind == Kind::Null;
        if (a.kind != b.kind && !nulls) {
            type_error();
            return false;
        }
        return equal(a, b) == (op == Op::Eq);
    }
    if (a.kind == Kind::String && b.kind == Kind::String) {
        int c = sv(a).compare(sv(b));
        switch (op) {
        case Op::Lt: return c < 0;
        case Op::Le: return c <= 0;
        case Op::Gt: return c > 0;
        default: return c >= 0;
        }
    }
    type_error();
    return false;
}

Val Evaluator::arith(Op op, const Val& a, const Val& b) {
    if (a.kind == Kind::Missing || b.kind == Kind::Missing) return {};
    if (a.kind == Kind::Number && b.kind == Kind::Number) {
        switch (op) {
        case Op::Add: return Val::num(a.number + b.number);
        case Op::Sub: return Val::num(a.number - b.number);
        case Op::Mul: return Val::num(a.number * b.number);
        case Op::Div: return b.number == 0 ? Val{} : Val::num(a.number / b.number);
        default: return b.number == 0 ? Val{} : Val::num(std::fmod(a.number, b.number));
        }
    }
    if (op == Op::Add && a.kind == Kind::String && b.kind == Kind::String) {
        std::string& s = scratch();
        size_t off = s.size();
        s.append(sv(a));  // sv(b) is taken after the append: the buffer may have moved
        s.append(sv(b));
        return scratch_string(off);
    }
    type_error();
    return {};
}

bool Evaluator::test(uint32_t i) {
    const Node& n = p_.nodes[i];
    switch (n.op) {
    case Op::And: return test_child(n.a) && test_child(n.b);
    case Op::Or: return test_child(n.a) || test_child(n.b);
    case Op::Not: return !test(n.a);
    case Op::CmpFieldConst: return cmp_field_const(n);
    case Op::CmpFieldTable: return cmp_field_table(n);
    default: return test_value(i);
    }
}

// Out of line, so that test() stays small enough to keep its frame cheap.
__attribute__((noinline)) bool Evaluator::test_value(uint32_t i) { return truthy(eval(i)); }

__attribute__((noinline)) bool Evaluator::cmp_field_slow(const Node& n, JsonRef r) const {
    return compare(n.cmp, from_json(r), from(n.value));
}

// A path of several segments or an index: out of line, so field_at keeps a small
// frame for the common single-member case.
__attribute__((noinline)) uint32_t path_index(const Event& ev, const Node& n) {
    JsonRef r = follow(ev.root(), n.segs, n.nsegs);
    return r.valid() ? r.index() : kNoNode;
}

bool Evaluator::cmp_field_const(const Node& n) const {
    const Event* ev = ctx_.event;
    if (!ev) return false;
    const JsonDoc& d = ev->doc;
    uint32_t at = field_at(*ev, n);
    if (at == kNoNode) return false;
    const JsonDoc::Node& x = d.node(at);
    if (x.type == JsonType::Number && n.value.kind == Kind::Number) [[likely]] {
        return compare_numbers(n.cmp, x.number, n.value.number);
    }
    if (x.type == JsonType::String && n.value.kind == Kind::String && (n.cmp == Op::Eq || n.cmp == Op::Ne)) {
        std::string_view b = n.value.str;
        bool eq = x.span.len == b.size() && same_bytes(d.str(x).data(), b.data(), b.size());
        return eq == (n.cmp == Op::Eq);
    }
    return cmp_field_slow(n, JsonRef(&d, at));
}

// `field OP table(...).path`: both sides read without building a Val when both are
// numbers; otherwise the generic comparison, which gives the same answer.
bool Evaluator::cmp_field_table(const Node& n) {
    const Event* ev = ctx_.event;
    if (!ev) return false;
    TableLookup::Field f = table_lookup_field(p_.nodes[n.b]);
    uint32_t at = field_at(*ev, p_.nodes[n.a]);
    if (at == kNoNode) return false;
    const JsonDoc::Node& x = ev->doc.node(at);
    if (x.type == JsonType::Number && f.is_number) [[likely]] {
        return compare_numbers(n.cmp, x.number, f.number);
    }
    return compare(n.cmp, from_json(JsonRef(&ev->doc, at)), f.is_number ? Val::num(f.number) : from_json(f.ref));
}

Val Evaluator::stage_event(const Node& n) const {
    if (!ctx_.stages) return {};
    size_t size = ctx_.stages->stage_size(n.stage);
    int64_t k = n.index == kLast ? static_cast<int64_t>(size) - 1
                : n.index < 0    ? static_cast<int64_t>(size) + n.index
                                 : n.index;
    if (k < 0 || k >= static_cast<int64_t>(size)) return {};
    return of_event(ctx_.stages->stage_event(n.stage, static_cast<size_t>(k)), n);
}

Val Evaluator::stage_agg(const Node& n) const {
    size_t size = ctx_.stages ? ctx_.stages->stage_size(n.stage) : 0;
    if (n.agg == Agg::Count && n.path < 0 && n.meta == Meta::None) return Val::num(static_cast<double>(size));
    double acc = 0;
    size_t seen = 0;
    for (size_t k = 0; k < size; ++k) {
        Val v = of_event(ctx_.stages->stage_event(n.stage, k), n);
        if (v.kind == Kind::Missing || v.kind == Kind::Null) continue;
        if (n.agg == Agg::Count) {
            ++seen;
            continue;
        }
        if (v.kind != Kind::Number) {
            type_error();
            continue;
        }
        if (seen == 0) acc = n.agg == Agg::Sum || n.agg == Agg::Avg ? 0 : v.number;
        switch (n.agg) {
        case Agg::Min: acc = std::min(acc, v.number); break;
        case Agg::Max: acc = std::max(acc, v.number); break;
        default: acc += v.number; break;
        }
        ++seen;
    }
    switch (n.agg) {
    case Agg::Count: return Val::num(static_cast<double>(seen));
    case Agg::Sum: return Val::num(acc);
    case Agg::Avg: return seen ? Val::num(acc / static_cast<double>(seen)) : Val{};
    default: return seen ? Val::num(acc) : Val{};
    }
}

Val Evaluator::in_list(const Node& n) {
    Val a = eval(n.a);
    if (a.kind == Kind::Missing) return Val::of(false);
    for (uint32_t k = 0; k < n.nargs; ++k) {
        uint32_t item = p_.args[n.args + k];
        const Node& e = p_.nodes[item];
        // Literal lists are the common case: compare in place, without building a Val.
        if (e.op == Op::Const ? equal_literal(a, e.value) : equal(a, eval(item))) return Val::of(true);
    }
    return Val::of(false);
}

bool Evaluator::equal_literal(const Val& a, const Value& b) const {
    if (a.kind != b.kind) return false;
    switch (a.kind) {
    case Kind::Number: return a.number == b.number;
    case Kind::String: {
        std::string_view x = sv(a);
        return x.size() == b.str.size() && same_bytes(x.data(), b.str.data(), x.size());
    }
    case Kind::Bool: return a.boolean == b.boolean;
    case Kind::Null: return true;
    default: return false;
    }
}

Val Evaluator::in_value(const Node& n) {
    Val a = eval(n.a);
    Val b = eval(n.b);
    if (a.kind == Kind::Missing || b.kind == Kind::Missing) return Val::of(false);
    if (b.kind != Kind::Json || b.json.type() != JsonType::Array) {
        type_error();
        return Val::of(false);
    }
    for (size_t k = 0, size = b.json.size(); k < size; ++k)
        if (equal(a, from_json(b.json.at(k)))) return Val::of(true);
    return Val::of(false);
}

Val Evaluator::matches(const Node& n) {
    Val a = eval(n.a);
    if (a.kind == Kind::Missing || n.index < 0) return Val::of(false);
    if (a.kind != Kind::String || a.len > kMaxRegexInput || a.str.size() > kMaxRegexInput) {
        type_error();
        return Val::of(false);
    }
    std::string_view s = sv(a);
    try {
        return Val::of(std::regex_search(s.data(), s.data() + s.size(), p_.regexes[n.index]));
    } catch (...) {  // regex_error (complexity, stack): a failed match, counted
        type_error();
        return Val::of(false);
    }
}

Val Evaluator::eval(uint32_t i) {
    const Node& n = p_.nodes[i];
    switch (n.op) {
    case Op::Const: return from(n.value);
    case Op::Field: return ctx_.event ? from_json(follow(ctx_.event->root(), n.segs, n.nsegs)) : Val{};
    case Op::Meta: return meta(ctx_.event, n.meta);
    case Op::Var: return ctx_.vars ? adopt(ctx_.vars[n.index]) : Val{};
    case Op::Access: {
        Val v = eval(n.a);
        return v.kind == Kind::Json ? from_json(follow(v.json, n.segs, n.nsegs)) : Val{};
    }
    case Op::StageEvent: return stage_event(n);
    case Op::StageAgg: return stage_agg(n);
    case Op::Not: return Val::of(!test(n.a));
    case Op::And: case Op::Or: case Op::CmpFieldConst: case Op::CmpFieldTable: return Val::of(test(i));
    case Op::Neg: {
        Val v = eval(n.a);
        if (v.kind == Kind::Number) return Val::num(-v.number);
        if (v.kind != Kind::Missing) type_error();
        return {};
    }
    case Op::Eq: case Op::Ne: case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge: {
        Val a = eval(n.a);
        Val b = eval(n.b);
        return Val::of(compare(n.op, a, b));
    }
    case Op::Add: case Op::Sub: case Op::Mul: case Op::Div: case Op::Mod: {
        Val a = eval(n.a);
        Val b = eval(n.b);
        return arith(n.op, a, b);
    }
    case Op::In: return in_list(n);
    case Op::InValue: return in_value(n);
    case Op::Matches: return matches(n);
    case Op::Cond: return test(n.a) ? eval(n.b) : eval(n.c);
    case Op::Call: return call(n);
    case Op::LuaCall: return lua_call(n);
    case Op::Table: return table_row(n);
    case Op::TableField: return table_field(n);
    }
    return {};
}

namespace {

class CompiledExpr final : public Expr {
public:
    CompiledExpr(std::string_view text, std::shared_ptr<const Program> p) : prog_(std::move(p)) {
        source_ = std::string(text);
        classify();
        for (const Node& n : prog_->nodes) {
            if (n.op != Op::TableField) continue;
            const Node& k = prog_->nodes[n.a];
            if (k.op == Op::Field || (k.op == Op::Meta && k.meta == Meta::Key)) table_fields_.push_back(&n);
        }
    }
    bool reads_tables() const override { return !table_fields_.empty(); }
    bool reads_payload_only() const override {
        for (const Node& n : prog_->nodes) {
            switch (n.op) {
            case Op::Meta:
            case Op::Var:
            case Op::StageEvent:
            case Op::StageAgg:
            case Op::CmpFieldTable:
            case Op::LuaCall:
            case Op::Table:
            case Op::TableField: return false;
            default: break;
            }
        }
        return true;
    }
    bool string_equality(std::string_view& name, std::string_view& text) const override {
        if (shape_ != Shape::Cmp) return false;
        const Node& n = *leaf_[0];
        if (n.cmp != Op::Eq || n.nsegs != 1 || n.segs->is_index || n.value.kind != Value::Kind::String) return false;
        name = n.segs->key;
        text = n.value.str;
        return true;
    }
    bool member_read(std::string_view& name) const override {
        if (shape_ != Shape::Field) return false;
        const Node& n = prog_->nodes[prog_->root];
        if (n.nsegs != 1 || n.segs->is_index) return false;
        name = n.segs->key;
        return true;
    }
    void prefetch_tables(const Event& event, const TableLookup& tables) const override {
        EvalContext ctx;
        ctx.event = &event;
        ctx.tables = &tables;
        Evaluator ev(*prog_, ctx);
        for (const Node* n : table_fields_) ev.prefetch_table_field(*n);
    }
    Value eval(const EvalContext& ctx) const override {
        Evaluator ev(*prog_, ctx);
        switch (shape_) {
        case Shape::Cmp: return Value::of(ev.cmp_field_const(*leaf_[0]));
        case Shape::AllCmp:  // a && b && ...: stops at the first false, in source order
            for (uint32_t k = 0; k < nleaf_; ++k)
                if (!ev.cmp_field_const(*leaf_[k])) return Value::of(false);
            return Value::of(true);
        case Shape::AnyCmp:  // a || b || ...: stops at the first true
            for (uint32_t k = 0; k < nleaf_; ++k)
                if (ev.cmp_field_const(*leaf_[k])) return Value::of(true);
            return Value::of(false);
        case Shape::Test:
        case Shape::VarCmp: return Value::of(test(ctx));
        case Shape::Field: {  // a bare field (an aggregate's argument, a payload value): read in place
            if (!ctx.event) return {};
            uint32_t at = field_at(*ctx.event, prog_->nodes[prog_->root]);
            return at == kNoNode ? Value{} : Value::from_json(JsonRef(&ctx.event->doc, at));
        }
        case Shape::Run: break;
        }
        return ev.run();
    }
    bool test(const EvalContext& ctx) const override {
        Evaluator ev(*prog_, ctx);
        switch (shape_) {
        case Shape::Cmp: return ev.cmp_field_const(*leaf_[0]);
        case Shape::AllCmp:
            for (uint32_t k = 0; k < nleaf_; ++k)
                if (!ev.cmp_field_const(*leaf_[k])) return false;
            return true;
        case Shape::AnyCmp:
            for (uint32_t k = 0; k < nleaf_; ++k)
                if (ev.cmp_field_const(*leaf_[k])) return true;
            return false;
        case Shape::VarCmp: {  // `name OP number` over a window's values: the having of most rules
            const Node& n = prog_->nodes[prog_->root];
            if (ctx.vars && ctx.vars[var_].kind == Value::Kind::Number)
                return compare_numbers(n.op, ctx.vars[var_].number, number_);
            return ev.test(prog_->root);  // null, missing, other types: the general comparison
        }
        case Shape::Test: return ev.test(prog_->root);
        case Shape::Field:
        case Shape::Run: break;
        }
        return eval(ctx).truthy();
    }

private:
    // The shapes most conditions have, decided once: a fused `field OP literal`, or
    // a chain of them joined by one of && / || (flattened, so evaluation is a loop
    // over the comparisons instead of a dispatch per node); and a bare field.
    // And `variable OP number` (VarCmp), the having of most window rules.
    enum class Shape : uint8_t { Run, Test, Cmp, AllCmp, AnyCmp, Field, VarCmp };
    static constexpr uint32_t kMaxLeaves = 8;

    bool flatten(uint32_t i, Op join) {
        const Node& n = prog_->nodes[i];
        if (n.op == Op::CmpFieldConst) {
            if (nleaf_ == kMaxLeaves) return false;
            leaf_[nleaf_++] = &n;
            return true;
        }
        return n.op == join && flatten(n.a, join) && flatten(n.b, join);
    }
    void classify() {
        const Node& root = prog_->nodes[prog_->root];
        if (root.op == Op::Field && root.type != Type::Bool) {  // a typed condition keeps Test's answer
            shape_ = Shape::Field;
            return;
        }
        if (root.type != Type::Bool || prog_->uses_scratch) return;  // Shape::Run
        shape_ = Shape::Test;
        if (root.op == Op::CmpFieldConst) {
            leaf_[0] = &root;
            nleaf_ = 1;
            shape_ = Shape::Cmp;
        } else if ((root.op == Op::And || root.op == Op::Or) && flatten(prog_->root, root.op)) {
            shape_ = root.op == Op::And ? Shape::AllCmp : Shape::AnyCmp;
        } else {
            nleaf_ = 0;
            const bool cmp = root.op >= Op::Eq && root.op <= Op::Ge;
            if (cmp && prog_->nodes[root.a].op == Op::Var && prog_->nodes[root.b].op == Op::Const &&
                prog_->nodes[root.b].value.kind == Value::Kind::Number) {
                shape_ = Shape::VarCmp;
                var_ = static_cast<uint32_t>(prog_->nodes[root.a].index);
                number_ = prog_->nodes[root.b].value.number;
            }
        }
    }

    std::shared_ptr<const Program> prog_;
    std::vector<const Node*> table_fields_;  // TableField nodes keyed by an event field or $key
    Shape shape_ = Shape::Run;
    uint32_t nleaf_ = 0;
    uint32_t var_ = 0;  // VarCmp: the variable's index and the number
    double number_ = 0;
    const Node* leaf_[kMaxLeaves] = {};  // into prog_->nodes, which never changes after compile
};

}  // namespace

std::shared_ptr<const Expr> make_expr(std::string_view text, std::shared_ptr<const Program> p) {
    return std::make_shared<CompiledExpr>(text, std::move(p));
}

}  // namespace vigil::expr
