// The grammar, lowest precedence first:
//   expr     := or ( "?" expr ":" expr )?
//   or       := and ( ("||" | "or") and )*
//   and      := eq ( ("&&" | "and") eq )*
//   eq       := rel ( ("==" | "!=") rel )*
//   rel      := add ( ("<" | "<=" | ">" | ">=") add | "not"? "in" list | "matches" STRING )*
//   add      := mul ( ("+" | "-") mul )*
//   mul      := unary ( ("*" | "/" | "%") unary )*
//   unary    := ("!" | "not" | "-") unary | postfix
//   postfix  := primary ( "." NAME | "[" INT | STRING "]" )*
//   primary  := NUMBER | DURATION | STRING | true | false | null | $meta | "(" expr ")"
//             | NAME "(" args ")" | lua "." NAME "(" args ")" | path
#include <cmath>
#include <algorithm>
#include <regex>
#include <vector>

#include "rules/expr_compile.h"
#include "rules/table_lookup.h"

namespace vigil::expr {

namespace {

bool is_keyword(std::string_view w) {
    return w == "and" || w == "or" || w == "not" || w == "in" || w == "matches" || w == "true" ||
           w == "false" || w == "null";
}

// Can this token begin an operand?
bool starts_operand(const Token& t) {
    switch (t.kind) {
    case Tok::Number: case Tok::String: case Tok::Dollar: return true;
    case Tok::Ident: return !is_keyword(t.text) || t.text == "not" || t.text == "true" || t.text == "false" ||
                            t.text == "null";
    case Tok::Punct: return t.text == "(" || t.text == "!" || t.text == "-";
    case Tok::End: return false;
    }
    return false;
}

constexpr size_t kMaxRegexSize = 1000;
constexpr long kMaxRegexRepeat = 1000;

constexpr double kMaxRegexStates = 20000;

// The larger count of the "{n}", "{n,}" or "{n,m}" whose brace is at re[open] (reading stops
// once a count passes kMaxRegexRepeat, so it cannot overflow); `end` is the index after the
// digits and commas read.
long brace_count(std::string_view re, size_t open, size_t& end) {
    long n = 0, most = 0;
    for (end = open + 1; end < re.size() && (re[end] == ',' || (re[end] >= '0' && re[end] <= '9')); ++end) {
        n = re[end] == ',' ? 0 : n * 10 + (re[end] - '0');
        most = std::max(most, n);
        if (most > kMaxRegexRepeat) break;
    }
    return most;
}

// libstdc++ compiles a repetition by copying the repeated part once per count, so nested
// counts multiply: "((a{1000}){1000}){1000}" would be 10^9 states and compile for hours.
// Estimates the states (an atom 1; a group the sum of its items, alternatives added;
// *, + and ? double the item before them, {n}, {n,} and {n,m} multiply it by the larger
// count plus one) and returns why the pattern is refused when they exceed kMaxRegexStates.
std::string regex_growth(std::string_view re) {
    struct Level {
        double done = 0, last = 0, alternatives = 0;
    };
    std::vector<Level> stack(1);
    auto atom = [&](double size) {
        Level& l = stack.back();
        l.done += l.last;
        l.last = size;
    };
    for (size_t i = 0; i < re.size(); ++i) {
        const char c = re[i];
        Level& l = stack.back();
        if (c == '\\') {
            ++i;
            atom(1);
        } else if (c == '[') {
            size_t j = i + 1;
            if (j < re.size() && re[j] == '^') ++j;
            if (j < re.size() && re[j] == ']') ++j;
            for (; j < re.size() && re[j] != ']'; ++j)
                if (re[j] == '\\') ++j;
            i = j;
            atom(1);
        } else if (c == '(') {
            stack.emplace_back();
        } else if (c == ')' && stack.size() > 1) {
            const double size = l.alternatives + l.done + l.last;
            stack.pop_back();
            atom(size);
        } else if (c == '|') {
            l.alternatives += l.done + l.last;
            l.done = l.last = 0;
        } else if (c == '*' || c == '+' || c == '?') {
            l.last *= 2;
        } else if (c == '{') {
            size_t j;
            const double most = static_cast<double>(brace_count(re, i, j));
            if (j < re.size() && re[j] == '}') {
                l.last *= most + 1;
                i = j;
            } else {
                atom(1);
            }
        } else {
            atom(1);
        }
        if (stack.back().last > kMaxRegexStates || stack.back().done > kMaxRegexStates)
            return "nested repetitions that expand to more than " + std::to_string(int(kMaxRegexStates)) +
                   " states (at offset " + std::to_string(i) + ")";
    }
    double total = 0;
    for (const Level& l : stack) total += l.alternatives + l.done + l.last;
    if (total > kMaxRegexStates)
        return "nested repetitions that expand to more than " + std::to_string(int(kMaxRegexStates)) + " states";
    return "";
}

// What libstdc++'s regex compiler must not see: it reads a repetition count or a
// back-reference number into a long without a bound (signed overflow on
// "a{99999999999999999999}"), and __polynomial refuses back-references anyway.
// Returns why the pattern is refused, or "" when it may be compiled.
std::string regex_refusal(std::string_view re) {
    bool in_class = false;
    for (size_t i = 0; i < re.size(); ++i) {
        char c = re[i];
        if (c == '\\') {
            if (i + 1 < re.size() && re[i + 1] >= '1' && re[i + 1] <= '9' && !in_class) {
                return "back-references (\\1) are not supported";
            }
            ++i;
        } else if (in_class) {
            if (c == ']') in_class = false;
        } else if (c == '[') {
            in_class = true;
            if (i + 1 < re.size() && re[i + 1] == '^') ++i;
        } else if (c == '{') {  // "{n}", "{n,}" or "{n,m}"
            size_t end;
            if (brace_count(re, i, end) > kMaxRegexRepeat)
                return "a repetition count above " + std::to_string(kMaxRegexRepeat) + " (at offset " +
                       std::to_string(i) + ")";
        }
    }
    return regex_growth(re);
}

// libstdc++'s default (depth-first) regex executor recurses once per input
// character and overflows the stack on inputs of a few KiB; its breadth-first
// executor (__polynomial) runs in bounded stack, at the price of no backreferences.
#ifdef __GLIBCXX__
constexpr auto kRegexFlags = std::regex::ECMAScript | std::regex_constants::__polynomial;
#else
constexpr auto kRegexFlags = std::regex::ECMAScript;
#endif

}  // namespace

void Compiler::expect_operand(const Token& op) {
    if (starts_operand(tok())) return;
    syntax(tok().pos, "expected an expression after \"" + std::string(op.text) + "\"");
}

uint32_t Compiler::parse_expr() {
    if (++nesting_ > kMaxDepth) syntax(tok().pos, "expression is nested too deeply");
    uint32_t c = parse_or();
    if (is_punct("?")) {
        Token q = tok();
        ++i_;
        expect_operand(q);
        uint32_t a = parse_expr();
        if (!is_punct(":")) {
            syntax(tok().pos, "expected \":\" (the \"?\" at column " +
                                  std::to_string(pos_at(q.pos).col) + " needs \"then : else\")");
        }
        Token colon = tok();
        ++i_;
        expect_operand(colon);
        uint32_t b = parse_expr();
        Node n;
        n.op = Op::Cond;
        n.a = c;
        n.b = a;
        n.c = b;
        n.pos = q.pos;
        Type ta = prog_.nodes[a].type, tb = prog_.nodes[b].type;
        n.type = ta == tb ? ta : Type::Any;
        c = add(std::move(n));
    }
    --nesting_;
    return c;
}

uint32_t Compiler::parse_or() {
    uint32_t a = parse_and();
    while (is_punct("||") || is_word("or")) {
        Token op = tok();
        ++i_;
        expect_operand(op);
        a = binary(Op::Or, a, parse_and(), op.pos);
    }
    return a;
}

uint32_t Compiler::parse_and() {
    uint32_t a = parse_equality();
    while (is_punct("&&") || is_word("and")) {
        Token op = tok();
        ++i_;
        expect_operand(op);
        a = binary(Op::And, a, parse_equality(), op.pos);
    }
    return a;
}

uint32_t Compiler::parse_equality() {
    uint32_t a = parse_relation();
    while (is_punct("==") || is_punct("!=")) {
        Token op = tok();
        ++i_;
        expect_operand(op);
        a = binary(op.text == "==" ? Op::Eq : Op::Ne, a, parse_relation(), op.pos);
    }
    return a;
}

uint32_t Compiler::parse_relation() {
    uint32_t a = parse_additive();
    for (;;) {
        Token op = tok();
        if (is_punct("<") || is_punct("<=") || is_punct(">") || is_punct(">=")) {
            ++i_;
            expect_operand(op);
            Op o = op.text == "<" ? Op::Lt : op.text == "<=" ? Op::Le : op.text == ">" ? Op::Gt : Op::Ge;
            a = binary(o, a, parse_additive(), op.pos);
        } else if (is_word("in")) {
            ++i_;
            a = parse_in(a, op.pos);
        } else if (is_word("not") && peek().kind == Tok::Ident && peek().text == "in") {
            i_ += 2;
            a = unary(Op::Not, parse_in(a, op.pos), op.pos);
        } else if (is_word("matches")) {
            ++i_;
            a = parse_matches(a, op.pos);
        } else {
            return a;
        }
    }
}

uint32_t Compiler::parse_in(uint32_t lhs, uint32_t pos) {
    Type tl = prog_.nodes[lhs].type;
    if (!is_punct("[")) {
        if (!starts_operand(tok())) syntax(tok().pos, "expected a list after \"in\", like in [\"a\", \"b\"]");
        uint32_t rhs = parse_additive();
        Type tr = prog_.nodes[rhs].type;
        if (tr != Type::Any) error(prog_.nodes[rhs].pos, std::string("\"in\" needs a list or an array field, not a ") + type_name(tr));
        Node n;
        n.op = Op::InValue;
        n.a = lhs;
        n.b = rhs;
        n.pos = pos;
        n.type = Type::Bool;
        return add(std::move(n));
    }
    ++i_;
    std::vector<uint32_t> items;
    if (!accept_punct("]")) {
        for (;;) {
            if (!starts_operand(tok())) syntax(tok().pos, "expected a list element");
            uint32_t e = parse_expr();
            Type te = prog_.nodes[e].type;
            if (tl != Type::Any && te != Type::Any && te != tl && te != Type::Null && tl != Type::Null) {
                error(prog_.nodes[e].pos, std::string("cannot compare a ") + type_name(tl) + " with a " + type_name(te));
            }
            items.push_back(e);
            if (accept_punct(",")) continue;
            expect_punct("]");
            break;
        }
    }
    Node n;
    n.op = Op::In;
    n.a = lhs;
    n.args = static_cast<uint32_t>(prog_.args.size());
    n.nargs = static_cast<uint32_t>(items.size());
    prog_.args.insert(prog_.args.end(), items.begin(), items.end());
    n.pos = pos;
    n.type = Type::Bool;
    return add(std::move(n));
}

uint32_t Compiler::parse_matches(uint32_t lhs, uint32_t pos) {
    const Token& t = tok();
    if (t.kind != Tok::String) syntax(t.pos, "\"matches\" needs a regex string literal, like matches \"^ab+c\"");
    Type tl = prog_.nodes[lhs].type;
    if (tl != Type::Any && tl != Type::String) {
        error(pos, std::string("\"matches\" needs a string, not a ") + type_name(tl));
    }
    Node n;
    n.op = Op::Matches;
    n.a = lhs;
    n.pos = pos;
    n.type = Type::Bool;
    if (t.str.size() > kMaxRegexSize) {
        error(t.pos, "invalid regex: longer than " + std::to_string(kMaxRegexSize) + " characters");
    } else if (std::string why = regex_refusal(t.str); !why.empty()) {
        error(t.pos, "invalid regex: " + why);
    } else {
        try {
            prog_.regexes.emplace_back(t.str, kRegexFlags);
            n.index = static_cast<int32_t>(prog_.regexes.size() - 1);
        } catch (const std::exception& e) {
            error(t.pos, std::string("invalid regex: ") + e.what());
        }
    }
    ++i_;
    return add(std::move(n));
}

uint32_t Compiler::parse_additive() {
    uint32_t a = parse_multiplicative();
    while (is_punct("+") || is_punct("-")) {
        Token op = tok();
        ++i_;
        expect_operand(op);
        a = binary(op.text == "+" ? Op::Add : Op::Sub, a, parse_multiplicative(), op.pos);
    }
    return a;
}

uint32_t Compiler::parse_multiplicative() {
    uint32_t a = parse_unary();
    while (is_punct("*") || is_punct("/") || is_punct("%")) {
        Token op = tok();
        ++i_;
        expect_operand(op);
        Op o = op.text == "*" ? Op::Mul : op.text == "/" ? Op::Div : Op::Mod;
        a = binary(o, a, parse_unary(), op.pos);
    }
    return a;
}

uint32_t Compiler::parse_unary() {
    if (is_punct("!") || is_word("not") || is_punct("-")) {
        Token op = tok();
        ++i_;
        expect_operand(op);
        if (++nesting_ > kMaxDepth) syntax(op.pos, "expression is nested too deeply");
        uint32_t x = parse_unary();
        --nesting_;
        return unary(op.text == "-" ? Op::Neg : Op::Not, x, op.pos);
    }
    return parse_postfix();
}

uint32_t Compiler::parse_postfix() {
    uint32_t x = parse_primary();
    if (!is_punct(".") && !is_punct("[")) return x;
    uint32_t pos = tok().pos;
    Type t = prog_.nodes[x].type;
    Path p;
    parse_path_tail(p, false, nullptr);
    if (t != Type::Any) {
        error(pos, std::string("a ") + type_name(t) + " has no fields");
        return x;
    }
    if (prog_.nodes[x].op == Op::Table) {  // table("t", k).field: one lookup of the field
        prog_.nodes[x].op = Op::TableField;
        prog_.nodes[x].path = add_path(std::move(p));
        prog_.nodes[x].site = TableLookup::new_site();
        return x;
    }
    Node n;
    n.op = Op::Access;
    n.a = x;
    n.path = add_path(std::move(p));
    n.pos = pos;
    return add(std::move(n));
}

int32_t Compiler::parse_index() {
    bool neg = accept_punct("-");
    const Token& t = tok();
    if (t.kind != Tok::Number || t.text.find_first_not_of("0123456789") != std::string_view::npos ||
        !(t.number <= 1e9)) {
        syntax(t.pos, "an index must be an integer or a string literal, like items[0], items[-1] or a[\"odd key\"]");
    }
    ++i_;
    auto v = static_cast<int32_t>(t.number);
    return neg ? -v : v;
}

void Compiler::parse_path_tail(Path& path, bool allow_meta, Meta* meta) {
    for (;;) {
        if (accept_punct(".")) {
            const Token& t = tok();
            if (t.kind == Tok::Ident) {
                path.segs.push_back({std::string(t.text), -1, false});
                ++i_;
            } else if (t.kind == Tok::Dollar && allow_meta && path.segs.empty() && *meta == Meta::None) {
                *meta = meta_of(t.text);
                if (*meta == Meta::None || *meta == Meta::Event) {
                    error(t.pos, "unknown stage metadata \"" + std::string(t.text) +
                                     "\" (a stage has $time, $key, $topic, $partition, $offset)");
                }
                ++i_;
                return;
            } else {
                syntax(t.pos, "expected a field name after \".\"");
            }
        } else if (accept_punct("[")) {
            if (tok().kind == Tok::String) {
                path.segs.push_back({tok().str, -1, false});
                ++i_;
            } else {
                path.segs.push_back({std::string(), parse_index(), true});
            }
            expect_punct("]");
        } else {
            return;
        }
    }
}

uint32_t Compiler::parse_primary() {
    const Token& t = tok();
    switch (t.kind) {
    case Tok::Number: ++i_; return add_const(Value::of(t.number), t.pos);
    case Tok::String: ++i_; return add_const(Value::of(intern(t.str)), t.pos);
    case Tok::Dollar: return meta(t);
    case Tok::Ident: {
        Token id = t;
        if (id.text == "true" || id.text == "false") {
            ++i_;
            return add_const(Value::of(id.text == "true"), id.pos);
        }
        if (id.text == "null") {
            ++i_;
            return add_const(Value::null(), id.pos);
        }
        if (is_keyword(id.text)) unexpected();
        if (id.text == "lua" && peek().kind == Tok::Punct && peek().text == "." && peek(2).kind == Tok::Ident &&
            peek(3).kind == Tok::Punct && peek(3).text == "(") {
            ++i_;
            return lua_call(id);
        }
        ++i_;
        if (is_punct("(")) return call(id);
        return name(id);
    }
    case Tok::Punct:
        if (t.text == "(") {
            ++i_;
            expect_operand(toks_[i_ - 1]);
            uint32_t open = toks_[i_ - 1].pos;
            uint32_t x = parse_expr();
            if (!accept_punct(")")) {
                SourcePos o = pos_at(open);
                std::string where = o.line == pos_at(tok().pos).line ? "column " + std::to_string(o.col)
                                    : "line " + std::to_string(o.line) + ", column " + std::to_string(o.col);
                syntax(tok().pos, "expected \")\" to close the \"(\" at " + where);
            }
            return x;
        }
        break;
    case Tok::End: break;
    }
    unexpected();
}

}  // namespace vigil::expr
