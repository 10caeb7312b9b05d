// Built-in functions (abs ... exists), calls into the rule's Lua program, and
// table() lookups of reference tables.
#include <algorithm>
#include <cmath>

#include "rules/expr_eval.h"
#include "rules/lua_host.h"
#include "rules/table_lookup.h"

namespace vigil::expr {

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

// The lookup and key of table("name", key) (null: no lookup installed or no key). A
// number key is looked up by its text as a key field gives it (json_number:
// integers without a fraction).
const TableLookup* Evaluator::table_key(const Node& n, char (&buf)[32], std::string_view& key) {
    const TableLookup* t = ctx_.tables ? ctx_.tables : current_table_lookup();
    if (!t) return nullptr;
    const Node& kn = p_.nodes[n.a];
    if (kn.op == Op::Field && ctx_.event) {  // the usual key, an event field: read in place, without a Val
        uint32_t at = field_at(*ctx_.event, kn);
        if (at == kNoNode) return nullptr;
        const JsonDoc& d = ctx_.event->doc;
        const JsonDoc::Node& x = d.node(at);
        if (x.type == JsonType::String) {
            key = d.str(x);
            return t;
        }
        if (x.type == JsonType::Number && std::isfinite(x.number)) {
            key = json_number(buf, x.number);
            return t;
        }
        if (x.type != JsonType::Null) type_error();
        return nullptr;
    }
    Val k = eval(n.a);
    if (k.kind == Kind::String) {
        key = sv(k);
    } else if (k.kind == Kind::Number && std::isfinite(k.number)) {
        key = json_number(buf, k.number);
    } else {
        if (k.kind != Kind::Missing && k.kind != Kind::Null) type_error();
        return nullptr;
    }
    return t;
}

// table("name", key): the row as a JSON object, Missing when there is none.
Val Evaluator::table_row(const Node& n) {
    char buf[32];
    std::string_view key;
    const TableLookup* t = table_key(n, buf, key);
    if (!t) return {};
    JsonRef row = t->lookup(n.value.str, key, ctx_.event ? ctx_.event->time : kLookupNow);
    return row.valid() ? from_json(row) : Val{};
}

// table("name", key).path: Missing when there is no row or no such field.
Val Evaluator::table_field(const Node& n) {
    TableLookup::Field f = table_lookup_field(n);
    return f.is_number ? Val::num(f.number) : from_json(f.ref);
}

// The answer of a TableField node (nothing found: an invalid ref, not a number).
TableLookup::Field Evaluator::table_lookup_field(const Node& n) {
    char buf[32];
    std::string_view key;
    const TableLookup* t = table_key(n, buf, key);
    if (!t) return {};
    return t->lookup_field(n.value.str, key, ctx_.event ? ctx_.event->time : kLookupNow, n.segs, n.nsegs, n.site);
}

// The hint for the lookup table_field(n) will make, with the same key.
void Evaluator::prefetch_table_field(const Node& n) {
    char buf[32];
    std::string_view key;
    if (const TableLookup* t = table_key(n, buf, key)) t->prefetch(n.value.str, key, n.segs, n.nsegs, n.site);
}

}  // namespace vigil::expr
