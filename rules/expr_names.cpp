// Name resolution (stages, vars, fields, metadata), functions, Lua calls and the
// static type checks of operators.
#include <algorithm>

#include "rules/expr_compile.h"
#include "rules/lua_host.h"

namespace vigil::expr {

namespace {

struct FnInfo {
    const char* name;
    Fn fn;
    int min_args, max_args;  // max -1: any number
    Type arg;                // Number / String: every argument must be one; Any: checked below
    Type result;
};

const FnInfo kFunctions[] = {
    {"abs", Fn::Abs, 1, 1, Type::Number, Type::Number},
    {"min", Fn::Min, 2, -1, Type::Number, Type::Number},
    {"max", Fn::Max, 2, -1, Type::Number, Type::Number},
    {"round", Fn::Round, 1, 1, Type::Number, Type::Number},
    {"floor", Fn::Floor, 1, 1, Type::Number, Type::Number},
    {"ceil", Fn::Ceil, 1, 1, Type::Number, Type::Number},
    {"len", Fn::Len, 1, 1, Type::Any, Type::Number},
    {"lower", Fn::Lower, 1, 1, Type::String, Type::String},
    {"upper", Fn::Upper, 1, 1, Type::String, Type::String},
    {"starts_with", Fn::StartsWith, 2, 2, Type::String, Type::Bool},
    {"ends_with", Fn::EndsWith, 2, 2, Type::String, Type::Bool},
    {"contains", Fn::Contains, 2, 2, Type::Any, Type::Bool},
    {"exists", Fn::Exists, 1, 1, Type::Any, Type::Bool},
};

struct AggInfo {
    const char* name;
    Agg agg;
};
const AggInfo kAggregates[] = {
    {"sum", Agg::Sum}, {"avg", Agg::Avg}, {"count", Agg::Count}, {"min", Agg::Min}, {"max", Agg::Max},
};

const FnInfo* find_function(std::string_view name) {
    for (const auto& f : kFunctions)
        if (name == f.name) return &f;
    return nullptr;
}

const AggInfo* find_aggregate(std::string_view name) {
    for (const auto& a : kAggregates)
        if (name == a.name) return &a;
    return nullptr;
}

int find_name(const std::vector<std::string>& names, std::string_view n) {
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == n) return static_cast<int>(i);
    return -1;
}

std::string a_type(Type t) { return t == Type::Null ? "null" : std::string("a ") + type_name(t); }

bool is_order(Op op) { return op == Op::Lt || op == Op::Le || op == Op::Gt || op == Op::Ge; }
bool is_compare(Op op) { return op == Op::Eq || op == Op::Ne || is_order(op); }

Op mirror(Op op) {
    switch (op) {
    case Op::Lt: return Op::Gt;
    case Op::Le: return Op::Ge;
    case Op::Gt: return Op::Lt;
    case Op::Ge: return Op::Le;
    default: return op;
    }
}

}  // namespace

Meta meta_of(std::string_view name) {
    if (name == "$time") return Meta::Time;
    if (name == "$key") return Meta::Key;
    if (name == "$topic") return Meta::Topic;
    if (name == "$partition") return Meta::Partition;
    if (name == "$offset") return Meta::Offset;
    if (name == "$event") return Meta::Event;
    return Meta::None;
}

Type meta_type(Meta m) {
    switch (m) {
    case Meta::Key: case Meta::Topic: return Type::String;
    case Meta::Event: case Meta::None: return Type::Any;
    default: return Type::Number;
    }
}

int32_t Compiler::add_path(Path p) {
    prog_.paths.push_back(std::move(p));
    return static_cast<int32_t>(prog_.paths.size() - 1);
}

uint32_t Compiler::meta(const Token& t) {
    ++i_;
    Meta m = meta_of(t.text);
    if (m == Meta::None) {
        static const std::vector<std::string> names = {"$time", "$key", "$topic", "$partition", "$offset", "$event"};
        error(t.pos, "unknown metadata \"" + std::string(t.text) + "\"" + hint(t.text, names));
    }
    Node n;
    n.op = Op::Meta;
    n.meta = m;
    n.type = meta_type(m);
    n.pos = t.pos;
    return add(std::move(n));
}

uint32_t Compiler::name(const Token& t) {
    std::string n(t.text);
    int stage = find_name(scope_.stages, n);
    if (stage >= 0) {
        if (scope_.self_stage >= 0 && stage > scope_.self_stage) {
            error(t.pos, "stage \"" + n + "\" comes after stage \"" + scope_.stages[scope_.self_stage] +
                             "\": a condition can only use its own and earlier stages");
        }
        return stage_ref(t, stage);
    }
    int var = find_name(scope_.vars, n);
    if (var >= 0) {
        Node v;
        v.op = Op::Var;
        v.index = var;
        v.pos = t.pos;
        return add(std::move(v));
    }
    Path path;
    path.segs.push_back({n, -1, false});
    if (!scope_.has_event) {
        error(t.pos, "unknown aggregate \"" + n + "\"" + hint(n, scope_.vars));
        parse_path_tail(path, false, nullptr);
        return add_const(Value::missing(), t.pos);
    }
    if (!scope_.stages.empty() && !in_aggregate_) {
        std::string near = closest_match(n, scope_.stages);
        if (!near.empty() && is_punct("[")) {
            error(t.pos, "unknown stage \"" + n + "\" (did you mean \"" + near + "\"?)");
        } else if (!near.empty() && is_punct(".")) {
            diags_.warning(pos_at(t.pos), "\"" + n + "\" is read as a field of the current event, not a stage (did you mean \"" +
                                              near + "\"?)");
        }
    }
    parse_path_tail(path, false, nullptr);
    Node f;
    f.op = Op::Field;
    f.path = add_path(std::move(path));
    f.pos = t.pos;
    return add(std::move(f));
}

uint32_t Compiler::stage_ref(const Token& t, int stage) {
    Node n;
    n.op = Op::StageEvent;
    n.stage = stage;
    n.index = kLast;
    n.pos = t.pos;
    if (accept_punct("[")) {
        n.index = parse_index();
        expect_punct("]");
    }
    Path p;
    Meta m = Meta::None;
    parse_path_tail(p, true, &m);
    if (!p.segs.empty()) n.path = add_path(std::move(p));
    n.meta = m;
    n.type = meta_type(m);
    return add(std::move(n));
}

void Compiler::parse_args(std::vector<uint32_t>& args) {
    Token open = tok();
    expect_punct("(");
    if (accept_punct(")")) return;
    for (;;) {
        if (tok().kind == Tok::End) syntax(tok().pos, "expected \")\" to close the call");
        expect_operand(toks_[i_ - 1]);
        args.push_back(parse_expr());
        if (accept_punct(",")) continue;
        expect_punct(")");
        return;
    }
}

uint32_t Compiler::call(const Token& t) {
    if (t.text == "table") return table_call(t);
    std::string fname(t.text);
    const FnInfo* fn = find_function(fname);
    const AggInfo* agg = find_aggregate(fname);
    std::vector<uint32_t> args;
    bool was = in_aggregate_;
    in_aggregate_ = agg != nullptr;
    parse_args(args);
    in_aggregate_ = was;
    if (agg && (fn == nullptr || args.size() == 1)) {
        if (args.size() != 1) {
            error(t.pos, fname + "() takes one stage field, like " + fname +
                             (agg->agg == Agg::Count ? "(small)" : "(small.amount)"));
            return add_const(Value::missing(), t.pos);
        }
        return aggregate(t, agg->agg, args[0]);
    }
    if (!fn) {
        std::vector<std::string> names;
        for (const auto& f : kFunctions) names.emplace_back(f.name);
        for (const auto& a : kAggregates) names.emplace_back(a.name);
        error(t.pos, "unknown function \"" + fname + "\"" + hint(fname, names));
        return add_const(Value::missing(), t.pos);
    }
    int n = static_cast<int>(args.size());
    if (n < fn->min_args || (fn->max_args >= 0 && n > fn->max_args)) {
        std::string want = fn->max_args < 0 ? "at least " + std::to_string(fn->min_args)
                                             : std::to_string(fn->min_args);
        error(t.pos, fname + "() takes " + want + (fn->min_args == 1 && fn->max_args == 1 ? " argument" : " arguments") +
                         ", got " + std::to_string(n));
    }
    for (int k = 0; k < n; ++k) {
        const Node& a = prog_.nodes[args[k]];
        if (a.type == Type::Any) continue;
        bool bad = false;
        std::string need;
        if (fn->arg != Type::Any) {
            bad = a.type != fn->arg;
            need = a_type(fn->arg);
        } else if (fn->fn == Fn::Len) {
            bad = a.type != Type::String;
            need = "a string, array or object";
        } else if (fn->fn == Fn::Contains && k == 0) {
            bad = a.type != Type::String;
            need = "a string or an array";
        } else if (fn->fn == Fn::Contains && prog_.nodes[args[0]].type == Type::String) {
            bad = a.type != Type::String;
            need = "a string";
        }
        if (bad) error(a.pos, fname + "() needs " + need + ", not " + a_type(a.type));
    }
    Node c;
    c.op = Op::Call;
    c.fn = fn->fn;
    c.type = fn->result;
    c.pos = t.pos;
    c.args = static_cast<uint32_t>(prog_.args.size());
    c.nargs = static_cast<uint32_t>(args.size());
    prog_.args.insert(prog_.args.end(), args.begin(), args.end());
    return add(std::move(c));
}

uint32_t Compiler::aggregate(const Token& t, Agg agg, uint32_t arg) {
    std::string fname(t.text);
    std::string like = fname + (agg == Agg::Count ? "(small)" : "(small.amount)");
    if (scope_.stages.empty()) {
        error(t.pos, fname + "() works over the events of a pattern stage, like " + like +
                         "; a window computes its aggregates in aggregate:");
        return add_const(Value::missing(), t.pos);
    }
    Node& n = prog_.nodes[arg];
    if (n.op == Op::StageEvent && n.index == kLast) {
        if (agg != Agg::Count && n.path < 0 && n.meta == Meta::None) {
            error(n.pos, fname + "() needs a field of the stage, like " + like);
        }
        n.op = Op::StageAgg;
        n.agg = agg;
        n.type = Type::Number;
        return arg;
    }
    if (n.op == Op::Field) {
        std::string head = prog_.paths[n.path].segs.front().key;
        error(n.pos, "unknown stage \"" + head + "\"" + hint(head, scope_.stages));
    } else {
        error(n.pos, fname + "() takes a stage field, like " + like);
    }
    return add_const(Value::missing(), t.pos);
}

uint32_t Compiler::lua_call(const Token& lua) {
    ++i_;  // "."
    Token fname = tok();
    ++i_;
    std::vector<uint32_t> args;
    parse_args(args);
    std::string n(fname.text);
    if (scope_.lua == nullptr) {
        error(lua.pos, "rule has no lua: block (lua." + n + " needs a function defined in the rule's lua:)");
    } else if (!scope_.lua->has_function(n)) {
        error(fname.pos, "unknown Lua function \"" + n + "\" (not defined in the rule's lua: block)");
    }
    if (args.size() > kMaxArgs) {
        error(lua.pos, "lua." + n + "() takes at most " + std::to_string(kMaxArgs) + " arguments");
    }
    Node c;
    c.op = Op::LuaCall;
    c.value = Value::of(intern(n));
    c.pos = lua.pos;
    c.args = static_cast<uint32_t>(prog_.args.size());
    c.nargs = static_cast<uint32_t>(args.size());
    prog_.args.insert(prog_.args.end(), args.begin(), args.end());
    return add(std::move(c));
}

// table("devices", device): the name must be a string literal (checked against
// the configured tables when the scope lists them), the key any expression.
uint32_t Compiler::table_call(const Token& t) {
    std::vector<uint32_t> args;
    parse_args(args);
    if (args.size() != 2) {
        error(t.pos, "table() takes 2 arguments, a table name and a key, like table(\"devices\", device); got " +
                         std::to_string(args.size()));
        return add_const(Value::missing(), t.pos);
    }
    const Node& name = prog_.nodes[args[0]];
    const Node& key = prog_.nodes[args[1]];
    if (name.op != Op::Const || name.value.kind != Value::Kind::String) {
        error(name.pos, "the table name must be a string literal, like table(\"devices\", device)");
    } else if (scope_.tables && find_name(*scope_.tables, name.value.str) < 0) {
        std::string n(name.value.str);
        error(name.pos, "unknown table \"" + n + "\"" +
                            (scope_.tables->empty() ? std::string(" (vigil.yaml has no tables:)") : hint(n, *scope_.tables)));
    }
    if (key.type == Type::Bool || key.type == Type::Null)
        error(key.pos, "a table key must be a string or a number, not " + a_type(key.type));
    Node c;
    c.op = Op::Table;
    c.value = name.value;
    c.a = args[1];
    c.pos = t.pos;
    return add(std::move(c));
}

uint32_t Compiler::unary(Op op, uint32_t a, uint32_t pos) {
    Node& x = prog_.nodes[a];
    if (op == Op::Neg) {
        if (x.type != Type::Any && x.type != Type::Number) {
            error(pos, "\"-\" needs a number, not " + a_type(x.type));
        }
        if (x.op == Op::Const && x.value.kind == Value::Kind::Number) {
            x.value.number = -x.value.number;  // fold: -5 is a constant
            x.pos = pos;
            return a;
        }
    }
    Node n;
    n.op = op;
    n.a = a;
    n.pos = pos;
    n.type = op == Op::Neg ? Type::Number : Type::Bool;
    return add(std::move(n));
}

uint32_t Compiler::binary(Op op, uint32_t a, uint32_t b, uint32_t pos) {
    Type ta = prog_.nodes[a].type, tb = prog_.nodes[b].type;
    bool known = ta != Type::Any && tb != Type::Any;
    Node n;
    n.op = op;
    n.a = a;
    n.b = b;
    n.pos = pos;
    n.type = Type::Bool;
    std::string o = op_text(op);
    if (op == Op::Eq || op == Op::Ne) {
        if (known && ta != tb && ta != Type::Null && tb != Type::Null) {
            error(pos, "cannot compare " + a_type(ta) + " with " + a_type(tb));
        }
    } else if (is_order(op)) {
        Type bad = ta == Type::Bool || ta == Type::Null ? ta : tb == Type::Bool || tb == Type::Null ? tb : Type::Any;
        if (bad != Type::Any) {
            error(pos, "\"" + o + "\" cannot order " + a_type(bad) + " (only numbers and strings)");
        } else if (known && ta != tb) error(pos, "cannot compare " + a_type(ta) + " with " + a_type(tb));
    } else if (op == Op::Add) {
        bool bad = ta == Type::Bool || ta == Type::Null || tb == Type::Bool || tb == Type::Null ||
                   (known && ta != tb);
        if (bad) error(pos, "\"+\" needs two numbers or two strings, not " + a_type(ta) + " and " + a_type(tb));
        n.type = ta != Type::Any ? ta : tb;
    } else if (op != Op::And && op != Op::Or) {
        for (Type t : {ta, tb}) {
            if (t != Type::Any && t != Type::Number) error(pos, "\"" + o + "\" needs numbers, not " + a_type(t));
        }
        n.type = Type::Number;
    }
    if (is_compare(op)) {
        const Node& na = prog_.nodes[a];
        const Node& nb = prog_.nodes[b];
        bool fa = na.op == Op::Field && nb.op == Op::Const && nb.value.kind != Value::Kind::Missing;
        bool fb = nb.op == Op::Field && na.op == Op::Const && na.value.kind != Value::Kind::Missing;
        if (fa || fb) {
            n.op = Op::CmpFieldConst;
            n.cmp = fa ? op : mirror(op);
            n.path = fa ? na.path : nb.path;
            n.value = fa ? nb.value : na.value;
        }
        bool ta = na.op == Op::Field && nb.op == Op::TableField;
        bool tb = nb.op == Op::Field && na.op == Op::TableField;
        if (ta || tb) {  // both operands are kept as nodes; only the comparison is fused
            n.op = Op::CmpFieldTable;
            n.cmp = ta ? op : mirror(op);
            n.a = ta ? a : b;
            n.b = ta ? b : a;
        }
    }
    return add(std::move(n));
}

}  // namespace vigil::expr
