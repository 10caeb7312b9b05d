// Expr::compile: tokens -> flat Program, with name resolution and static type
// checks. Syntax errors stop the parse (one error); semantic errors (unknown
// names, type mismatches) are all reported and the parse goes on.
#include <algorithm>

#include "rules/expr_compile.h"

namespace vigil::expr {

const char* type_name(Type t) {
    switch (t) {
    case Type::Null: return "null";
    case Type::Bool: return "bool";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Any: break;
    }
    return "value";
}

const char* op_text(Op op) {
    switch (op) {
    case Op::Eq: return "==";
    case Op::Ne: return "!=";
    case Op::Lt: return "<";
    case Op::Le: return "<=";
    case Op::Gt: return ">";
    case Op::Ge: return ">=";
    case Op::Add: return "+";
    case Op::Sub: return "-";
    case Op::Mul: return "*";
    case Op::Div: return "/";
    case Op::Mod: return "%";
    default: return "?";
    }
}

Compiler::Compiler(std::string_view text, const ExprScope& scope, const SourcePos& at, Diagnostics& diags)
    : text_(text), scope_(scope), at_(at), diags_(diags) {}

SourcePos Compiler::pos_at(uint32_t off) const {
    SourcePos p = at_;
    size_t nl = text_.rfind('\n', off == 0 ? 0 : off - 1);
    if (off == 0 || nl == std::string_view::npos) {
        if (p.col > 0) p.col += static_cast<int>(off);
        return p;
    }
    // Later lines of a multi-line expression (a YAML block scalar) start at the same column.
    p.line += static_cast<int>(std::count(text_.begin(), text_.begin() + static_cast<long>(off), '\n'));
    p.col = std::max(p.col, 1) + static_cast<int>(off - nl - 1);
    return p;
}

void Compiler::error(uint32_t off, std::string msg) {
    diags_.error(pos_at(off), std::move(msg));
    ++errors_;
}

void Compiler::syntax(uint32_t off, std::string msg) {
    error(off, std::move(msg));
    throw SyntaxError{};
}

std::string Compiler::hint(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best = closest_match(word, candidates);
    return best.empty() ? std::string() : " (did you mean \"" + best + "\"?)";
}

bool Compiler::is_punct(std::string_view p) const { return tok().kind == Tok::Punct && tok().text == p; }
bool Compiler::is_word(std::string_view w) const { return tok().kind == Tok::Ident && tok().text == w; }

bool Compiler::accept_punct(std::string_view p) {
    if (!is_punct(p)) return false;
    ++i_;
    return true;
}

void Compiler::expect_punct(std::string_view p) {
    if (accept_punct(p)) return;
    syntax(tok().pos, "expected \"" + std::string(p) + "\"" + (tok().kind == Tok::End ? " before the end"
                                                                : ", found \"" + std::string(tok().text) + "\""));
}

uint32_t Compiler::add(Node n) {
    uint16_t d = 0;
    auto deeper = [&](uint32_t child) { d = std::max(d, prog_.nodes[child].depth); };
    switch (n.op) {
    case Op::Not: case Op::Neg: case Op::Access: case Op::Matches: case Op::Table:
    case Op::TableField: deeper(n.a); break;
    case Op::Cond: deeper(n.a); deeper(n.b); deeper(n.c); break;
    case Op::And: case Op::Or: case Op::Eq: case Op::Ne: case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge:
    case Op::Add: case Op::Sub: case Op::Mul: case Op::Div: case Op::Mod: case Op::InValue: case Op::CmpFieldTable:
        deeper(n.a); deeper(n.b); break;
    case Op::In: deeper(n.a); [[fallthrough]];
    case Op::Call: case Op::LuaCall:
        for (uint32_t k = 0; k < n.nargs; ++k) deeper(prog_.args[n.args + k]);
        break;
    default: break;
    }
    n.depth = static_cast<uint16_t>(d + 1);
    if (n.depth > kMaxDepth) syntax(n.pos, "expression is nested too deeply");
    prog_.nodes.push_back(std::move(n));
    return static_cast<uint32_t>(prog_.nodes.size() - 1);
}

uint32_t Compiler::add_const(Value v, uint32_t pos) {
    Node n;
    n.op = Op::Const;
    n.value = v;
    n.pos = pos;
    switch (v.kind) {
    case Value::Kind::Null: n.type = Type::Null; break;
    case Value::Kind::Bool: n.type = Type::Bool; break;
    case Value::Kind::Number: n.type = Type::Number; break;
    case Value::Kind::String: n.type = Type::String; break;
    default: n.type = Type::Any; break;
    }
    return add(std::move(n));
}

std::string_view Compiler::intern(std::string s) {
    prog_.strings.push_back(std::make_unique<std::string>(std::move(s)));
    return *prog_.strings.back();
}

std::shared_ptr<const Program> Compiler::run() {
    LexError lex;
    if (!tokenize(text_, toks_, lex)) {
        error(lex.pos, lex.message);
        return nullptr;
    }
    try {
        if (tok().kind == Tok::End) syntax(0, "empty expression");
        prog_.root = parse_expr();
        if (tok().kind != Tok::End) unexpected();
    } catch (const SyntaxError&) {
        return nullptr;
    }
    if (errors_ > 0) return nullptr;
    // Paths no longer move: let nodes point at their segments directly.
    for (Node& n : prog_.nodes) {
        if (n.op == Op::Add || n.op == Op::LuaCall || (n.op == Op::Call && (n.fn == Fn::Lower || n.fn == Fn::Upper))) {
            prog_.uses_scratch = true;
        }
        if (n.path < 0) continue;
        n.segs = prog_.paths[n.path].segs.data();
        n.nsegs = static_cast<uint32_t>(prog_.paths[n.path].segs.size());
    }
    return std::make_shared<Program>(std::move(prog_));
}

void Compiler::unexpected() {
    const Token& t = tok();
    if (t.kind == Tok::End) syntax(t.pos, "unexpected end of expression");
    if (i_ > 0 && (t.kind == Tok::Ident || t.kind == Tok::Number || t.kind == Tok::String ||
                   t.kind == Tok::Dollar || t.text == "(")) {
        syntax(t.pos, "unexpected \"" + std::string(t.text) + "\" (missing an operator before it?)");
    }
    syntax(t.pos, "unexpected \"" + std::string(t.text) + "\"");
}

}  // namespace vigil::expr
