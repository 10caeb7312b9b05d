#pragma once
// Private to rules/expr*.cpp: the compiler from expression text to a Program.
// expr_compile.cpp holds positions, errors and node building; expr_parse.cpp the
// grammar (precedence climbing); expr_names.cpp names, stages, functions and the
// static type checks.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/expr.h"
#include "rules/expr_lexer.h"
#include "rules/expr_program.h"

namespace vigil::expr {

const char* type_name(Type t);
const char* op_text(Op op);
Meta meta_of(std::string_view name);  // "$time" -> Meta::Time; Meta::None when unknown
Type meta_type(Meta m);

class Compiler {
public:
    Compiler(std::string_view text, const ExprScope& scope, const SourcePos& at, Diagnostics& diags);
    // Null when any error was reported.
    std::shared_ptr<const Program> run();

private:
    struct SyntaxError {};

    // expr_compile.cpp
    SourcePos pos_at(uint32_t off) const;
    void error(uint32_t off, std::string msg);
    [[noreturn]] void syntax(uint32_t off, std::string msg);
    [[noreturn]] void unexpected();
    static std::string hint(std::string_view word, const std::vector<std::string>& candidates);
    const Token& tok() const { return toks_[i_]; }
    const Token& peek(size_t k = 1) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
    bool is_punct(std::string_view p) const;
    bool is_word(std::string_view w) const;
    bool accept_punct(std::string_view p);
    void expect_punct(std::string_view p);
    uint32_t add(Node n);
    uint32_t add_const(Value v, uint32_t pos);
    std::string_view intern(std::string s);

    // expr_parse.cpp
    uint32_t parse_expr();
    uint32_t parse_or();
    uint32_t parse_and();
    uint32_t parse_equality();
    uint32_t parse_relation();
    uint32_t parse_additive();
    uint32_t parse_multiplicative();
    uint32_t parse_unary();
    uint32_t parse_postfix();
    uint32_t parse_primary();
    uint32_t parse_in(uint32_t lhs, uint32_t pos);
    uint32_t parse_matches(uint32_t lhs, uint32_t pos);
    void parse_path_tail(Path& path, bool allow_meta, Meta* meta);
    int32_t parse_index();
    void expect_operand(const Token& op);

    // expr_names.cpp
    uint32_t name(const Token& t);
    uint32_t meta(const Token& t);
    uint32_t stage_ref(const Token& t, int stage);
    uint32_t call(const Token& t);
    uint32_t lua_call(const Token& lua);
    uint32_t table_call(const Token& t);
    uint32_t aggregate(const Token& t, Agg agg, uint32_t arg);
    void parse_args(std::vector<uint32_t>& args);
    uint32_t binary(Op op, uint32_t a, uint32_t b, uint32_t pos);
    uint32_t unary(Op op, uint32_t a, uint32_t pos);
    int32_t add_path(Path p);

    std::string_view text_;
    const ExprScope& scope_;
    SourcePos at_;
    Diagnostics& diags_;
    std::vector<Token> toks_;
    size_t i_ = 0;
    int nesting_ = 0;
    bool in_aggregate_ = false;  // parsing the argument of sum/avg/count/min/max
    size_t errors_ = 0;
    Program prog_;
};

}  // namespace vigil::expr
