#include "rules/json.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "rules/same_bytes.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vigil {

namespace {
constexpr int kMaxDepth = 128;
}

class JsonParser {
public:
    JsonParser(JsonDoc& doc, std::string_view text) : doc_(doc), p_(text.data()), begin_(text.data()),
                                                        end_(text.data() + text.size()) {}

    bool run(std::string* error, size_t* offset) {
        // The nodes are written through a cursor into the array sized ahead (no
        // per-node capacity bookkeeping of push_back), then the array is cut to size.
        doc_.nodes_.resize(std::max<size_t>(doc_.nodes_.capacity(), 16));
        base_ = doc_.nodes_.data();
        n_ = 0;
        cap_ = static_cast<uint32_t>(doc_.nodes_.size());
        skip_ws();
        bool ok = value(0);
        if (ok) {
            skip_ws();
            if (p_ != end_) ok = this->error("unexpected text after the JSON value");
        }
        if (!ok) return fail(error, offset);
        doc_.nodes_.resize(n_);
        return true;
    }

private:
    bool fail(std::string* error, size_t* offset) {
        if (error) *error = err_;
        if (offset) *offset = static_cast<size_t>(err_at_ - begin_);
        doc_.clear();
        return false;
    }
    bool error(const char* msg) {
        err_ = msg;
        err_at_ = p_;
        return false;
    }
    void skip_ws() { p_ = ws(p_); }
    const char* ws(const char* p) const {  // compact JSON has none: one compare in the common case
        while (p < end_ && static_cast<unsigned char>(*p) <= ' ' &&
               (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
            ++p;
        return p;
    }
    bool literal(const char* word, size_t n) {
        if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return error("invalid literal");
        p_ += n;
        return true;
    }

    // A new node of type `t` (its `end` one past itself); the rest is set by the caller.
    [[gnu::always_inline]] JsonDoc::Node& emit(JsonType t) {
        if (n_ == cap_) [[unlikely]] grow();
        JsonDoc::Node& n = base_[n_];
        n.type = t;
        n.boolean = false;  // (as_bool() of any other type reads it)
        n.end = ++n_;
        return n;
    }
    uint32_t emit_index(JsonType t) {
        emit(t);
        return n_ - 1;
    }
    __attribute__((noinline)) void grow() {
        doc_.nodes_.resize(static_cast<size_t>(cap_) * 2);
        base_ = doc_.nodes_.data();
        cap_ = static_cast<uint32_t>(doc_.nodes_.size());
    }

    bool value(int depth) {
        if (p_ >= end_) return error("unexpected end of input");
        switch (*p_) {
        case '{': return object(depth);
        case '[': return array(depth);
        case '"': return string();
        case 't': emit(JsonType::Bool).boolean = true; return literal("true", 4);
        case 'f': emit(JsonType::Bool).boolean = false; return literal("false", 5);
        case 'n': emit(JsonType::Null); return literal("null", 4);
        default: return number();
        }
    }

    // Numbers of the form -?D+(.D+)? with at most 15 digits (Clinger's fast path: an
    // exact integer m < 2^53 over an exact power of ten, so one IEEE division gives
    // the correctly rounded value from_chars would) are read in one pass by
    // plain_number(); anything else (exponents, more digits) goes to from_chars.
    static constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                                        1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    // The number at `p` (p < end_) when it has that form: a node, `p` moved past it,
    // true. Otherwise false with nothing done. Inline in the member loop, which calls
    // it before value() (the members of events are mostly strings and such numbers).
    [[gnu::always_inline]] bool plain_number(const char*& p) {
        const char* q = p;
        const bool neg = *q == '-';
        q += neg;
        const char* first = q;
        uint64_t m = 0;
        q = eight_digits(q, m);  // a timestamp's first eight digits in one step
        q = read_digits(q, m);
        int digits = static_cast<int>(q - first), frac = 0;
        if (digits == 0) return false;
        if (q < end_ && *q == '.') {
            const char* f = ++q;
            q = read_digits(q, m);
            frac = static_cast<int>(q - f);
            if (frac == 0) return false;
            digits += frac;
        }
        if (digits > 15 || (q < end_ && (*q == 'e' || *q == 'E' || *q == '+' || *q == '-' || *q == '.'))) return false;
        double d = static_cast<double>(m);
        if (frac) d /= kPow10[frac];
        emit(JsonType::Number).number = neg ? -d : d;
        p = q;
        return true;
    }
    bool number() {
        const char* start = p_;
        if (plain_number(start)) {
            p_ = start;
            return true;
        }
        bool neg = p_ < end_ && *p_ == '-';
        if (neg) ++p_;
        if (p_ >= end_ || !digit(*p_)) {
            p_ = start;
            return error("expected a JSON value");
        }
        double d = 0;
        while (p_ < end_ && (digit(*p_) || *p_ == '.' || *p_ == 'e' || *p_ == 'E' || *p_ == '+' || *p_ == '-')) ++p_;
        auto [ptr, ec] = std::from_chars(start, p_, d);
        if (ec == std::errc::result_out_of_range && ptr == p_) {
            // Too small (1e-400: valid JSON, read as 0 with its sign) or too large
            // (1e400: no double holds it); from_chars does not say which, strtod does.
            d = std::strtod(std::string(start, p_).c_str(), nullptr);
            if (!std::isfinite(d)) {
                p_ = start;
                return error("number out of range");
            }
        } else if (ec != std::errc() || ptr != p_) {
            p_ = start;
            return error("invalid number");
        }
        emit(JsonType::Number).number = d;
        return true;
    }
    static bool digit(char c) { return c >= '0' && c <= '9'; }
    // m = m * 10 + each decimal digit from q; returns the first non-digit. (Past 19
    // digits m wraps; number() then reads the text with from_chars instead.)
    const char* read_digits(const char* q, uint64_t& m) const {
        for (; q < end_; ++q) {
            const auto d = static_cast<unsigned>(static_cast<unsigned char>(*q)) - '0';
            if (d > 9) break;
            m = m * 10 + d;
        }
        return q;
    }
    // When the eight bytes at q (m == 0) are all digits: their value into m, q + 8;
    // else q. Each byte 0x30..0x39 has high nibble 3, and adding 6 leaves it 3.
    const char* eight_digits(const char* q, uint64_t& m) const {
        if constexpr (std::endian::native == std::endian::little) {
            constexpr uint64_t kHigh = 0xF0F0F0F0F0F0F0F0ull, kThrees = 0x3030303030303030ull;
            uint64_t v;
            if (end_ - q < 8) return q;
            std::memcpy(&v, q, 8);
            if ((v & kHigh) != kThrees || ((v + 0x0606060606060606ull) & kHigh) != kThrees) return q;
            v -= kThrees;                                         // byte k: the k-th digit
            v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFull;      // 16-bit lanes: two digits
            v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFull;    // 32-bit lanes: four digits
            m = (v * 10000 + (v >> 32)) & 0xFFFFFFFFull;          // eight digits
            return q + 8;
        }
        return q;
    }

    static int hex(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    bool read_hex4(uint32_t& cp) {
        if (end_ - p_ < 4) return error("truncated \\u escape");
        cp = 0;
        for (int k = 0; k < 4; ++k) {
            int h = hex(p_[k]);
            if (h < 0) return error("invalid \\u escape");
            cp = cp * 16 + static_cast<uint32_t>(h);
        }
        p_ += 4;
        return true;
    }
    void put_utf8(uint32_t cp) {
        std::string& s = doc_.strings_;
        if (cp < 0x80) {
            s += static_cast<char>(cp);
        } else if (cp < 0x800) {
            s += static_cast<char>(0xC0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            s += static_cast<char>(0xE0 | (cp >> 12));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            s += static_cast<char>(0xF0 | (cp >> 18));
            s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    // The first '"', '\\' or control character from `p` (or `end`). With SSE2 (every
    // x86-64) sixteen bytes a step: equal to '"' or '\\', or unsigned max(byte, 0x1f)
    // == 0x1f. Then (and on other CPUs throughout) eight bytes a step: in each of the
    // three byte tests the lowest flagged byte is a true match (a borrow can only flag
    // bytes above one), so the first flagged byte of the three together is the first stop.
    static const char* scan_plain(const char* p, const char* end) {
#if defined(__SSE2__)
        const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1f);
        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
            __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                     _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
            if (auto bits = static_cast<unsigned>(_mm_movemask_epi8(m))) return p + std::countr_zero(bits);
            p += 16;
        }
#endif
        if constexpr (std::endian::native == std::endian::little) {
            constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
            while (end - p >= 8) {
                uint64_t v;
                std::memcpy(&v, p, 8);
                uint64_t q = v ^ (kOnes * '"'), b = v ^ (kOnes * '\\');
                uint64_t m = (((q - kOnes) & ~q) | ((b - kOnes) & ~b) | ((v - kOnes * 0x20) & ~v)) & kHigh;
                if (m) return p + std::countr_zero(m) / 8;
                p += 8;
            }
        }
        while (p < end && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20) ++p;
        return p;
    }

    // A string without escapes is its bytes in the document's copy of the text
    // (JsonDoc::parse starts strings_ with it); one with escapes is decoded and
    // appended after that copy.
    bool string() {
        const char* p = p_;
        if (!string_node(p)) return false;
        p_ = p;
        return true;
    }
    // The string at `p` (its opening quote) as a new node; `p` moves past it. The
    // cursor is a local: p_ is a member, which the compiler would store and reload
    // around every write to the document.
    [[gnu::always_inline]] bool string_node(const char*& p) {
        const char* start = p + 1;
        const char* q = scan_plain(start, end_);
        if (q < end_ && *q == '"') [[likely]] {
            emit(JsonType::String).span = {static_cast<uint32_t>(start - begin_), static_cast<uint32_t>(q - start)};
            p = q + 1;
            return true;
        }
        p_ = start;
        if (!escaped_string(emit_index(JsonType::String))) return false;
        p = p_;
        return true;
    }

    __attribute__((noinline)) bool escaped_string(uint32_t node) {
        std::string& s = doc_.strings_;
        uint32_t off = static_cast<uint32_t>(s.size());
        for (;;) {
            const char* run = p_;
            p_ = scan_plain(p_, end_);
            s.append(run, static_cast<size_t>(p_ - run));
            if (p_ >= end_) return error("unterminated string");
            char c = *p_;
            if (c == '"') {
                ++p_;
                break;
            }
            if (c != '\\') return error("control character in string");
            ++p_;
            if (p_ >= end_) return error("unterminated string");
            char e = *p_++;
            switch (e) {
            case '"': s += '"'; break;
            case '\\': s += '\\'; break;
            case '/': s += '/'; break;
            case 'b': s += '\b'; break;
            case 'f': s += '\f'; break;
            case 'n': s += '\n'; break;
            case 'r': s += '\r'; break;
            case 't': s += '\t'; break;
            case 'u': {
                uint32_t cp = 0;
                if (!read_hex4(cp)) return false;
                if (cp >= 0xD800 && cp <= 0xDBFF && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
                    p_ += 2;
                    uint32_t lo = 0;
                    if (!read_hex4(lo)) return false;
                    if (lo >= 0xDC00 && lo <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                put_utf8(cp);
                break;
            }
            default: --p_; return error("invalid escape in string");
            }
        }
        base_[node].span = {off, static_cast<uint32_t>(s.size() - off)};
        return true;
    }

    // The cursor is a local for the whole member loop, and plain strings (member
    // names and string values) are read here; other values go through value().
    // Compact JSON has no whitespace: each separator is tested before skipping any.
    bool object(int depth) {
        if (depth >= kMaxDepth) return error("nesting too deep");
        const uint32_t i = emit_index(JsonType::Object);
        const char* p = ws(p_ + 1);
        uint32_t count = 0;
        if (p < end_ && *p == '}') {
            ++p;
        } else {
            for (;;) {
                if (!at(p, '"')) return error_at(p, "expected a member name in quotes");
                if (!string_node(p)) return false;
                if (!at(p, ':')) return error_at(p, "expected ':' after member name");
                ++p;
                if (at(p, '"')) {
                    if (!string_node(p)) return false;
                } else if (p < end_ && plain_number(p)) {
                } else {
                    p_ = p;
                    if (!value(depth + 1)) return false;
                    p = p_;
                }
                ++count;
                if (at(p, ',')) {
                    ++p;
                    continue;
                }
                if (p < end_ && *p == '}') {  // (at() skipped any whitespace)
                    ++p;
                    break;
                }
                return error_at(p, "expected ',' or '}' in object");
            }
        }
        p_ = p;
        base_[i].count = count;
        base_[i].end = n_;
        return true;
    }
    // Whether `c` is next at `p` after any whitespace (skipped: `p` moves to it).
    bool at(const char*& p, char c) const {
        if (p < end_ && *p == c) [[likely]] return true;
        p = ws(p);
        return p < end_ && *p == c;
    }
    bool error_at(const char* p, const char* msg) {
        p_ = p;
        return error(msg);
    }

    bool array(int depth) {
        if (depth >= kMaxDepth) return error("nesting too deep");
        const uint32_t i = emit_index(JsonType::Array);
        ++p_;
        skip_ws();
        uint32_t count = 0;
        if (p_ < end_ && *p_ == ']') {
            ++p_;
        } else {
            for (;;) {
                skip_ws();
                if (!value(depth + 1)) return false;
                ++count;
                skip_ws();
                if (p_ < end_ && *p_ == ',') {
                    ++p_;
                    continue;
                }
                if (p_ < end_ && *p_ == ']') {
                    ++p_;
                    break;
                }
                return error("expected ',' or ']' in array");
            }
        }
        base_[i].count = count;
        base_[i].end = n_;
        return true;
    }

    JsonDoc& doc_;
    JsonDoc::Node* base_ = nullptr;  // doc_.nodes_.data(): nodes [0, n_) written, room for cap_
    uint32_t n_ = 0, cap_ = 0;
    const char* p_;
    const char* begin_;
    const char* end_;
    const char* err_at_ = nullptr;
    const char* err_ = "";
};

bool JsonDoc::parse(std::string_view text, std::string* error, size_t* error_offset) {
    clear();
    strings_.assign(text);  // strings without escapes are read in place here (JsonParser::string)
    JsonParser p(*this, text);
    if (!p.run(error, error_offset)) return false;
    text_len_ = text.size();
    return true;
}

void JsonDoc::clear() {
    nodes_.clear();
    strings_.clear();
    text_len_ = 0;
    open_.clear();
}

void JsonDoc::added_value() {
    if (open_.empty()) return;
    Node& parent = nodes_[open_.back()];
    if (parent.type == JsonType::Array) ++parent.count;
}

void JsonDoc::begin_object() {
    added_value();
    open_.push_back(push(JsonType::Object));
}
void JsonDoc::begin_array() {
    added_value();
    open_.push_back(push(JsonType::Array));
}
void JsonDoc::end() {
    if (open_.empty()) return;
    nodes_[open_.back()].end = static_cast<uint32_t>(nodes_.size());
    open_.pop_back();
}
void JsonDoc::key(std::string_view k) {
    if (!open_.empty()) ++nodes_[open_.back()].count;
    uint32_t i = push(JsonType::String);
    nodes_[i].span.off = static_cast<uint32_t>(strings_.size());
    nodes_[i].span.len = static_cast<uint32_t>(k.size());
    strings_.append(k);
}
void JsonDoc::null_value() {
    added_value();
    push(JsonType::Null);
}
void JsonDoc::bool_value(bool b) {
    added_value();
    nodes_[push(JsonType::Bool)].boolean = b;
}
void JsonDoc::number_value(double d) {
    added_value();
    nodes_[push(JsonType::Number)].number = d;
}
void JsonDoc::string_value(std::string_view s) {
    added_value();
    uint32_t i = push(JsonType::String);
    nodes_[i].span.off = static_cast<uint32_t>(strings_.size());
    nodes_[i].span.len = static_cast<uint32_t>(s.size());
    strings_.append(s);
}
void JsonDoc::copy_value(JsonRef v) {
    if (!v.valid()) {
        null_value();
        return;
    }
    switch (v.type()) {
    case JsonType::Null: null_value(); break;
    case JsonType::Bool: bool_value(v.as_bool()); break;
    case JsonType::Number: number_value(v.as_number()); break;
    case JsonType::String: string_value(v.as_string()); break;
    case JsonType::Array:
        begin_array();
        for (size_t i = 0; i < v.size(); ++i) copy_value(v.at(i));
        end();
        break;
    case JsonType::Object:
        begin_object();
        for (size_t i = 0; i < v.size(); ++i) {
            key(v.member_name(i));
            copy_value(v.member_value(i));
        }
        end();
        break;
    }
}

JsonRef JsonRef::at(size_t idx) const {
    if (!is_array()) return {};
    const auto& n = doc_->node(index_);
    if (idx >= n.count) return {};
    uint32_t i = index_ + 1;
    for (size_t k = 0; k < idx; ++k) i = doc_->node(i).end;
    return JsonRef(doc_, i);
}

size_t JsonRef::size() const {
    if (!valid()) return 0;
    const auto& n = doc_->node(index_);
    return (n.type == JsonType::Array || n.type == JsonType::Object) ? n.count : 0;
}

std::string_view JsonRef::member_name(size_t idx) const {
    if (!is_object()) return {};
    uint32_t i = index_ + 1;
    for (size_t k = 0; k < idx; ++k) i = doc_->node(i + 1).end;
    return doc_->str(doc_->node(i));
}

JsonRef JsonRef::member_value(size_t idx) const {
    if (!is_object()) return {};
    uint32_t i = index_ + 1;
    for (size_t k = 0; k < idx; ++k) i = doc_->node(i + 1).end;
    return JsonRef(doc_, i + 1);
}

void json_escape(std::string& out, std::string_view s) {
    static const char* hexd = "0123456789abcdef";
    out += '"';
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (u < 0x20) {
                out += "\\u00";
                out += hexd[u >> 4];
                out += hexd[u & 15];
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

std::string_view json_number(char (&buf)[32], double d) {
    auto r = d == std::floor(d) && std::fabs(d) < 9.0e15
                 ? std::to_chars(buf, buf + sizeof buf, static_cast<long long>(d))
                 : std::to_chars(buf, buf + sizeof buf, d);
    return std::string_view(buf, static_cast<size_t>(r.ptr - buf));
}

void json_number(std::string& out, double d) {
    if (!std::isfinite(d)) {
        out += "null";
        return;
    }
    char buf[32];
    out += json_number(buf, d);
}

void JsonRef::write(std::string& out) const {
    if (!valid()) {
        out += "null";
        return;
    }
    const auto& n = doc_->node(index_);
    switch (n.type) {
    case JsonType::Null: out += "null"; break;
    case JsonType::Bool: out += n.boolean ? "true" : "false"; break;
    case JsonType::Number: json_number(out, n.number); break;
    case JsonType::String: json_escape(out, doc_->str(n)); break;
    case JsonType::Array: {
        out += '[';
        uint32_t i = index_ + 1;
        for (uint32_t k = 0; k < n.count; ++k) {
            if (k) out += ',';
            JsonRef(doc_, i).write(out);
            i = doc_->node(i).end;
        }
        out += ']';
        break;
    }
    case JsonType::Object: {
        out += '{';
        uint32_t i = index_ + 1;
        for (uint32_t k = 0; k < n.count; ++k) {
            if (k) out += ',';
            json_escape(out, doc_->str(doc_->node(i)));
            out += ':';
            JsonRef(doc_, i + 1).write(out);
            i = doc_->node(i + 1).end;
        }
        out += '}';
        break;
    }
    }
}

std::string JsonRef::dump() const {
    std::string s;
    write(s);
    return s;
}

}  // namespace vigil
