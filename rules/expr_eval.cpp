// Evaluation of a compiled Program. Never throws, never allocates except in
// regex matching and when the scratch buffer has to grow.
//
// Strings made during evaluation (concatenation, lower/upper, Lua results) are
// appended to the scratch buffer and referred to by offset while evaluation runs,
// so a buffer that grows (and moves) never leaves a dangling view; run() keeps
// only the result string and gives the rest of the buffer back.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "rules/expr_program.h"
#include "rules/lua_host.h"

namespace vigil::expr {

namespace {

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

// Keys are short and most differ early: a byte loop beats a call to memcmp.
inline bool same_bytes(const char* a, const char* b, size_t n) {
    if (n > 32) return std::memcmp(a, b, n) == 0;
    for (size_t i = 0; i < n; ++i)
        if (a[i] != b[i]) return false;
    return true;
}

inline JsonRef member(JsonRef v, std::string_view key) {
    if (!v.valid()) return {};
    const JsonDoc* d = v.doc();
    const JsonDoc::Node& obj = d->node(v.index());
    if (obj.type != JsonType::Object) return {};
    uint32_t i = v.index() + 1;
    while (i < obj.end) {
        const JsonDoc::Node& k = d->node(i);
        if (k.str_len == key.size() && same_bytes(d->str(k).data(), key.data(), key.size())) {
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

class Evaluator {
public:
    Evaluator(const Program& p, const EvalContext& ctx) : p_(p), ctx_(ctx), s_(ctx.scratch) {}

    Value run() {
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
    std::string& scratch() {
        if (!s_) {
            // No buffer given: strings live until the next evaluation on this thread.
            thread_local std::string fallback;
            fallback.clear();
            s_ = &fallback;
        }
        if (s_->capacity() < 256) s_->reserve(256);
        return *s_;
    }
    Val scratch_string(size_t off) {
        Val v;
        v.kind = Kind::String;
        v.in_scratch = true;
        v.off = static_cast<uint32_t>(off);
        v.len = static_cast<uint32_t>(s_->size() - off);
        return v;
    }
    // Adopts a Value whose string may point into the scratch buffer.
    Val adopt(const Value& x) {
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
    void type_error() const {
        if (ctx_.type_errors) ++*ctx_.type_errors;
    }

    Val meta(const Event* ev, Meta m) const {
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

    Val of_event(const Event* ev, const Node& n) const {
        if (!ev) return {};
        if (n.meta != Meta::None) return meta(ev, n.meta);
        JsonRef r = ev->root();
        r = follow(r, n.segs, n.nsegs);
        return from_json(r);
    }

    bool equal(const Val& a, const Val& b) const {
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

    bool compare(Op op, const Val& a, const Val& b) const {
        if (a.kind == Kind::Missing || b.kind == Kind::Missing) return false;
        if (a.kind == Kind::Number && b.kind == Kind::Number) {
            switch (op) {
            case Op::Eq: return a.number == b.number;
            case Op::Ne: return a.number != b.number;
            case Op::Lt: return a.number < b.number;
            case Op::Le: return a.number <= b.number;
            case Op::Gt: return a.number > b.number;
            default: return a.number >= b.number;
            }
        }
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

    Val arith(Op op, const Val& a, const Val& b) {
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

    bool test(uint32_t i) {
        const Node& n = p_.nodes[i];
        switch (n.op) {
        case Op::And: return test(n.a) && test(n.b);
        case Op::Or: return test(n.a) || test(n.b);
        case Op::Not: return !test(n.a);
        case Op::CmpFieldConst: return cmp_field_const(n);
        default: return truthy(eval(i));
        }
    }

    bool truthy(const Val& v) const {
        if (v.kind == Kind::String) return v.in_scratch ? v.len > 0 : !v.str.empty();
        return to_value(v).truthy();
    }

    bool cmp_field_const(const Node& n) const {
        if (!ctx_.event) return false;
        JsonRef root = ctx_.event->root();
        JsonRef r = n.nsegs == 1 && !n.segs->is_index ? member(root, n.segs->key) : follow(root, n.segs, n.nsegs);
        if (!r.valid()) return false;
        const JsonDoc::Node& x = r.doc()->node(r.index());
        if (x.type == JsonType::Number && n.value.kind == Kind::Number) {
            double a = x.number, b = n.value.number;
            switch (n.cmp) {
            case Op::Eq: return a == b;
            case Op::Ne: return a != b;
            case Op::Lt: return a < b;
            case Op::Le: return a <= b;
            case Op::Gt: return a > b;
            default: return a >= b;
            }
        }
        if (x.type == JsonType::String && n.value.kind == Kind::String && (n.cmp == Op::Eq || n.cmp == Op::Ne)) {
            std::string_view a = r.doc()->str(x), b = n.value.str;
            bool eq = a.size() == b.size() && same_bytes(a.data(), b.data(), a.size());
            return eq == (n.cmp == Op::Eq);
        }
        return compare(n.cmp, from_json(r), from(n.value));
    }

    Val stage_event(const Node& n) const {
        if (!ctx_.stages) return {};
        size_t size = ctx_.stages->stage_size(n.stage);
        int64_t k = n.index == kLast ? static_cast<int64_t>(size) - 1
                    : n.index < 0    ? static_cast<int64_t>(size) + n.index
                                     : n.index;
        if (k < 0 || k >= static_cast<int64_t>(size)) return {};
        return of_event(ctx_.stages->stage_event(n.stage, static_cast<size_t>(k)), n);
    }

    Val stage_agg(const Node& n) const {
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

    Val in_list(const Node& n) {
        Val a = eval(n.a);
        if (a.kind == Kind::Missing) return Val::of(false);
        for (uint32_t k = 0; k < n.nargs; ++k)
            if (equal(a, eval(p_.args[n.args + k]))) return Val::of(true);
        return Val::of(false);
    }

    Val in_value(const Node& n) {
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

    Val matches(const Node& n) {
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

    Val call(const Node& n);
    Val lua_call(const Node& n);

public:
    Val eval(uint32_t i) {
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
        case Op::And: case Op::Or: case Op::CmpFieldConst: return Val::of(test(i));
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
        }
        return {};
    }

private:
    const Program& p_;
    const EvalContext& ctx_;
    std::string* s_;
};

Val Evaluator::call(const Node& n) {
    const uint32_t* args = &p_.args[n.args];
    switch (n.fn) {
    case Fn::Exists: return Val::of(eval(args[0]).kind != Kind::Missing);
    case Fn::Abs: case Fn::Round: case Fn::Floor: case Fn::Ceil: {
        Val v = eval(args[0]);
        if (v.kind != Kind::Number) {
            if (v.kind != Kind::Missing) type_error();
            return {};
        }
        double x = v.number;
        return Val::num(n.fn == Fn::Abs ? std::fabs(x) : n.fn == Fn::Round ? std::round(x)
                        : n.fn == Fn::Floor ? std::floor(x) : std::ceil(x));
    }
    case Fn::Min: case Fn::Max: {
        double acc = 0;
        for (uint32_t k = 0; k < n.nargs; ++k) {
            Val v = eval(args[k]);
            if (v.kind != Kind::Number) {
                if (v.kind != Kind::Missing) type_error();
                return {};
            }
            acc = k == 0 ? v.number : n.fn == Fn::Min ? std::min(acc, v.number) : std::max(acc, v.number);
        }
        return Val::num(acc);
    }
    case Fn::Len: {
        Val v = eval(args[0]);
        if (v.kind == Kind::String) return Val::num(static_cast<double>(sv(v).size()));
        if (v.kind == Kind::Json) return Val::num(static_cast<double>(v.json.size()));
        if (v.kind != Kind::Missing) type_error();
        return {};
    }
    case Fn::Lower: case Fn::Upper: {
        Val v = eval(args[0]);
        if (v.kind != Kind::String) {
            if (v.kind != Kind::Missing) type_error();
            return {};
        }
        std::string& s = scratch();
        size_t off = s.size();
        s.append(sv(v));
        bool up = n.fn == Fn::Upper;
        for (size_t k = off; k < s.size(); ++k) {
            char c = s[k];
            if (up && c >= 'a' && c <= 'z') s[k] = static_cast<char>(c - 'a' + 'A');
            if (!up && c >= 'A' && c <= 'Z') s[k] = static_cast<char>(c - 'A' + 'a');
        }
        return scratch_string(off);
    }
    case Fn::StartsWith: case Fn::EndsWith: case Fn::Contains: {
        Val a = eval(args[0]);
        Val b = eval(args[1]);
        if (a.kind == Kind::Missing || b.kind == Kind::Missing) return Val::of(false);
        if (n.fn == Fn::Contains && a.kind == Kind::Json && a.json.type() == JsonType::Array) {
            for (size_t k = 0, size = a.json.size(); k < size; ++k)
                if (equal(b, from_json(a.json.at(k)))) return Val::of(true);
            return Val::of(false);
        }
        if (a.kind != Kind::String || b.kind != Kind::String) {
            type_error();
            return Val::of(false);
        }
        std::string_view x = sv(a), y = sv(b);
        if (n.fn == Fn::StartsWith) return Val::of(x.starts_with(y));
        if (n.fn == Fn::EndsWith) return Val::of(x.ends_with(y));
        return Val::of(x.find(y) != std::string_view::npos);
    }
    }
    return {};
}

Val Evaluator::lua_call(const Node& n) {
    if (!ctx_.lua) return {};
    Val vals[kMaxArgs];
    size_t count = std::min<size_t>(n.nargs, kMaxArgs);
    for (size_t k = 0; k < count; ++k) vals[k] = eval(p_.args[n.args + k]);
    std::string& s = scratch();  // before the views below: it may grow the buffer
    Value args[kMaxArgs];
    for (size_t k = 0; k < count; ++k) args[k] = to_value(vals[k]);
    Value r = ctx_.lua->call(n.value.str, args, count, s);
    return adopt(r);
}

class CompiledExpr final : public Expr {
public:
    CompiledExpr(std::string_view text, std::shared_ptr<const Program> p) : prog_(std::move(p)) {
        source_ = std::string(text);
    }
    Value eval(const EvalContext& ctx) const override {
        Evaluator ev(*prog_, ctx);
        return ev.run();
    }

private:
    std::shared_ptr<const Program> prog_;
};

}  // namespace

std::shared_ptr<const Expr> make_expr(std::string_view text, std::shared_ptr<const Program> p) {
    return std::make_shared<CompiledExpr>(text, std::move(p));
}

}  // namespace vigil::expr
