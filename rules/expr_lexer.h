#pragma once
// Private to rules/expr*.cpp: splits an expression into tokens.
//
// tokenize() stops at the first lexical error (unterminated string, bad escape,
// bad number or duration, stray character) and reports its byte offset.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::expr {

enum class Tok : uint8_t { End, Number, String, Ident, Dollar, Punct };

struct Token {
    Tok kind = Tok::End;
    std::string_view text;  // as written (for Punct: the operator)
    uint32_t pos = 0;       // byte offset in the expression
    double number = 0;      // Number (durations already in ms)
    std::string str;        // String: the decoded value
};

struct LexError {
    uint32_t pos = 0;
    std::string message;
};

// False on a lexical error (`err` set); `out` always ends with a Tok::End token.
bool tokenize(std::string_view text, std::vector<Token>& out, LexError& err);

}  // namespace vigil::expr
