// Rule versions (SPEC 4): 8 hex digits of stable_hash64 over a canonical text of
// the rule's definition, so that reformatting a file (indentation, flow or block
// style, quoting, key order, comments, spacing inside expressions, `5m` vs `300s`)
// keeps the version while any change of meaning gives a new one.
//
// The canonical text: maps as {key:value,...} with keys sorted, lists as [a,b],
// scalars as JSON strings. Scalars are normalized by role: expressions (where,
// until, having, payload values, aggregate calls) lose the spaces that do not
// separate two words; durations are respelled by format_duration; numbers are
// respelled as JSON numbers; Lua source keeps its text but not trailing spaces.
// `description`, `tags`, `enabled` and `tests` do not change what a rule computes and
// are left out.
#include <algorithm>
#include <charconv>

#include "rules/hash.h"
#include "rules/json.h"
#include "rules/rule_parser.h"
#include "rules/units.h"

namespace vigil {

namespace {

enum class Role { Plain, Expr, Lua };

bool word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '$';
}

// Whitespace outside string literals is dropped unless it separates two word
// characters (`a and b`), where it becomes one space.
std::string normalize_expr(std::string_view s) {
    std::string out;
    char quote = 0;
    bool pending_space = false;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (quote) {
            out += c;
            if (c == '\\' && i + 1 < s.size()) out += s[++i];
            else if (c == quote) quote = 0;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            pending_space = true;
            continue;
        }
        if (pending_space && !out.empty() && word_char(out.back()) && word_char(c)) out += ' ';
        pending_space = false;
        if (c == '"' || c == '\'') quote = c;
        out += c;
    }
    return out;
}

std::string normalize_lua(std::string_view s) {
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
        size_t nl = s.find('\n', i);
        std::string_view line = s.substr(i, nl == std::string_view::npos ? std::string_view::npos : nl - i);
        size_t end = line.find_last_not_of(" \t\r");
        if (end != std::string_view::npos) {
            out.append(line.substr(0, end + 1));
            out += '\n';
        }
        if (nl == std::string_view::npos) break;
        i = nl + 1;
    }
    return out;
}

std::string normalize_plain(const YAML::Node& n) {
    const std::string& s = n.Scalar();
    if (is_plain_scalar(n)) {
        double d = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) {
            std::string out;
            json_number(out, d);
            return out;
        }
    }
    if (auto ms = parse_duration_ms(s)) return format_duration(*ms);
    return s;
}

Role role_of(std::string_view key, Role parent) {
    if (parent == Role::Expr) return Role::Expr;  // inside payload / aggregate maps
    if (key == "where" || key == "until" || key == "having" || key == "payload" || key == "aggregate")
        return Role::Expr;
    if (key == "lua") return Role::Lua;
    return Role::Plain;
}

void canonical(const YAML::Node& n, Role role, std::string& out);

// Keys sorted. YAML::Node assignment writes through to the document, so the nodes
// are never moved around: only their indices are sorted.
void canonical_map(const YAML::Node& n, Role role, const std::vector<std::string>& skip, std::string& out) {
    std::vector<std::string> keys;
    std::vector<YAML::Node> values;
    for (auto it = n.begin(); it != n.end(); ++it) {
        std::string k = it->first.IsScalar() ? it->first.Scalar() : std::string();
        if (std::find(skip.begin(), skip.end(), k) != skip.end()) continue;
        keys.push_back(std::move(k));
        values.push_back(it->second);
    }
    std::vector<size_t> order(keys.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
    out += '{';
    for (size_t i = 0; i < order.size(); ++i) {
        if (i) out += ',';
        json_escape(out, keys[order[i]]);
        out += ':';
        canonical(values[order[i]], role_of(keys[order[i]], role), out);
    }
    out += '}';
}

void canonical(const YAML::Node& n, Role role, std::string& out) {
    if (n.IsMap()) {
        canonical_map(n, role, {}, out);
    } else if (n.IsSequence()) {
        out += '[';
        bool first = true;
        for (const auto& item : n) {
            if (!first) out += ',';
            first = false;
            canonical(item, role, out);
        }
        out += ']';
    } else if (is_null_node(n)) {
        out += "null";
    } else {
        const std::string& s = n.Scalar();
        json_escape(out, role == Role::Expr ? normalize_expr(s) : role == Role::Lua ? normalize_lua(s)
                                                                                     : normalize_plain(n));
    }
}

}  // namespace

std::string normalized_rule(const YAML::Node& rule) {
    std::string out;
    if (rule.IsMap()) canonical_map(rule, Role::Plain, {"description", "tags", "enabled", "tests"}, out);
    return out;
}

std::string rule_version(const YAML::Node& rule) { return hex_digits(stable_hash64(normalized_rule(rule)), 8); }

}  // namespace vigil
