#include "rules/expr_lexer.h"

#include <charconv>
#include <cstring>

#include "rules/units.h"

namespace vigil::expr {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void put_utf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

class Lexer {
public:
    Lexer(std::string_view text, std::vector<Token>& out, LexError& err) : s_(text), out_(out), err_(err) {}

    bool run() {
        out_.clear();
        for (;;) {
            while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
            if (i_ >= s_.size()) break;
            char c = s_[i_];
            bool ok = true;
            if (is_digit(c)) {
                ok = number();
            } else if (is_alpha(c)) {
                word(Tok::Ident, i_);
            } else if (c == '$') {
                if (i_ + 1 < s_.size() && is_alpha(s_[i_ + 1])) {
                    word(Tok::Dollar, i_++);
                } else {
                    ok = fail(i_, "expected a name after \"$\", like $time");
                }
            } else if (c == '"' || c == '\'') {
                ok = string(c);
            } else {
                ok = punct();
            }
            if (!ok) return false;
        }
        Token end;
        end.kind = Tok::End;
        end.pos = static_cast<uint32_t>(s_.size());
        out_.push_back(std::move(end));
        return true;
    }

private:
    bool fail(size_t pos, std::string msg) {
        err_.pos = static_cast<uint32_t>(pos);
        err_.message = std::move(msg);
        return false;
    }
    Token& push(Tok kind, size_t start, size_t end) {
        Token t;
        t.kind = kind;
        t.pos = static_cast<uint32_t>(start);
        t.text = s_.substr(start, end - start);
        out_.push_back(std::move(t));
        return out_.back();
    }
    void word(Tok kind, size_t start) {
        while (i_ < s_.size() && is_alnum(s_[i_])) ++i_;
        push(kind, start, i_);
    }

    bool number() {
        size_t start = i_;
        while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
        if (i_ + 1 < s_.size() && s_[i_] == '.' && is_digit(s_[i_ + 1])) {
            ++i_;
            while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
        }
        bool exponent = false;
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            size_t j = i_ + 1;
            if (j < s_.size() && (s_[j] == '+' || s_[j] == '-')) ++j;
            if (j < s_.size() && is_digit(s_[j])) {
                exponent = true;
                i_ = j;
                while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
            }
        }
        size_t num_end = i_;
        while (i_ < s_.size() && is_alnum(s_[i_])) ++i_;
        std::string_view text = s_.substr(start, i_ - start);
        double value = 0;
        if (num_end != i_) {
            double magnitude = 0;
            std::from_chars(s_.data() + start, s_.data() + num_end, magnitude);
            if (magnitude > 1e9) return fail(start, "duration \"" + std::string(text) + "\" is too large");
            auto ms = exponent ? std::nullopt : parse_duration_ms(text);
            if (!ms) {
                return fail(start, "invalid number \"" + std::string(text) +
                                       "\" (durations are written 500ms, 5s, 10m, 2h, 7d)");
            }
            value = static_cast<double>(*ms);
        } else {
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc() || p != text.data() + text.size()) {
                return fail(start, "invalid number \"" + std::string(text) + "\"");
            }
        }
        push(Tok::Number, start, i_).number = value;
        return true;
    }

    bool string(char quote) {
        size_t start = i_++;
        std::string v;
        for (;;) {
            if (i_ >= s_.size()) return fail(start, "unterminated string");
            char c = s_[i_];
            if (c == quote) {
                ++i_;
                break;
            }
            if (c != '\\') {
                v += c;
                ++i_;
                continue;
            }
            if (i_ + 1 >= s_.size()) return fail(start, "unterminated string");
            char e = s_[i_ + 1];
            switch (e) {
            case 'n': v += '\n'; break;
            case 't': v += '\t'; break;
            case 'r': v += '\r'; break;
            case '0': v += '\0'; break;
            case '\\': case '"': case '\'': case '/': v += e; break;
            case 'u': {
                uint32_t cp = 0;
                for (size_t k = 0; k < 4; ++k) {
                    int h = i_ + 2 + k < s_.size() ? hex(s_[i_ + 2 + k]) : -1;
                    if (h < 0) return fail(i_, "invalid \\u escape (expected 4 hex digits)");
                    cp = cp * 16 + static_cast<uint32_t>(h);
                }
                put_utf8(v, cp);
                i_ += 4;
                break;
            }
            default: return fail(i_, std::string("unknown escape \"\\") + e + "\" in string");
            }
            i_ += 2;
        }
        push(Tok::String, start, i_).str = std::move(v);
        return true;
    }

    bool punct() {
        static const char* const two[] = {"==", "!=", "<=", ">=", "&&", "||"};
        for (const char* op : two) {
            if (s_.compare(i_, 2, op) == 0) {
                push(Tok::Punct, i_, i_ + 2);
                i_ += 2;
                return true;
            }
        }
        char c = s_[i_];
        if (std::strchr("<>!+-*/%?:()[],.", c) != nullptr && c != '\0') {
            push(Tok::Punct, i_, i_ + 1);
            ++i_;
            return true;
        }
        if (c == '=') return fail(i_, "unexpected \"=\" (did you mean \"==\"?)");
        if (c == '&') return fail(i_, "unexpected \"&\" (did you mean \"&&\"?)");
        if (c == '|') return fail(i_, "unexpected \"|\" (did you mean \"||\"?)");
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) return fail(i_, std::string("unexpected \"") + c + "\"");
        return fail(i_, "unexpected byte 0x" + std::string(1, "0123456789abcdef"[u >> 4]) +
                            std::string(1, "0123456789abcdef"[u & 15]));
    }

    std::string_view s_;
    std::vector<Token>& out_;
    LexError& err_;
    size_t i_ = 0;
};

}  // namespace

bool tokenize(std::string_view text, std::vector<Token>& out, LexError& err) {
    Lexer lx(text, out, err);
    if (lx.run()) return true;
    Token end;
    end.pos = static_cast<uint32_t>(text.size());
    out.push_back(std::move(end));
    return false;
}

}  // namespace vigil::expr
