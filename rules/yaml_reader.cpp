#include "rules/yaml_reader.h"

#include <algorithm>
#include <charconv>

#include "rules/units.h"
#include "rules/yaml_depth.h"

namespace vigil {

std::optional<YAML::Node> YamlFile::parse() {
    YamlDepthError deep;
    if (!check_yaml_depth(text_, kMaxYamlDepth, deep)) {
        diags_.error({file_, deep.line, deep.col},
                     "YAML nesting deeper than " + std::to_string(kMaxYamlDepth) + " levels");
        return std::nullopt;
    }
    try {
        return YAML::Load(text_);
    } catch (const YAML::Exception& e) {
        SourcePos p{file_, e.mark.line + 1, e.mark.column + 1};
        if (e.mark.is_null()) p.line = p.col = 0;
        diags_.error(p, "YAML syntax: " + e.msg);
        return std::nullopt;
    } catch (const std::exception& e) {
        diags_.error({file_, 0, 0}, std::string("cannot read YAML: ") + e.what());
        return std::nullopt;
    }
}

SourcePos YamlFile::pos(const YAML::Node& n) const {
    YAML::Mark m = n.Mark();
    if (m.is_null()) return {file_, 0, 0};
    return {file_, m.line + 1, m.column + 1};
}

size_t YamlFile::offset(const YAML::Node& n) const {
    YAML::Mark m = n.Mark();
    return m.is_null() || m.pos < 0 ? 0 : static_cast<size_t>(m.pos);
}

// An empty value's mark is the next token, often on a later line: the value
// belongs just after the `key:` (or `-`) before it, skipping blanks and comments.
SourcePos YamlFile::empty_value_pos(size_t at) const {
    size_t i = std::min(at, text_.size());
    while (i > 0) {
        char c = text_[i - 1];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            --i;
            continue;
        }
        size_t line_start = text_.rfind('\n', i - 1);
        line_start = line_start == std::string::npos ? 0 : line_start + 1;
        size_t hash = text_.find(" #", line_start);
        if (text_[line_start] == '#') hash = line_start;
        if (hash != std::string::npos && hash < i) {  // inside a comment: skip it
            i = hash;
            continue;
        }
        break;
    }
    SourcePos p{file_, 1, 1};
    for (size_t j = 0; j < i; ++j) {
        if (text_[j] == '\n') {
            ++p.line;
            p.col = 1;
        } else {
            ++p.col;
        }
    }
    return p;
}

SourcePos YamlFile::content_pos(const YAML::Node& n) const {
    SourcePos p = pos(n);
    if (p.line == 0) return p;
    if (n.IsNull()) {
        // An explicit `~` or `null` has its own mark.
        std::string_view rest = std::string_view(text_).substr(std::min(offset(n), text_.size()));
        bool explicit_null = rest.starts_with("~") || rest.starts_with("null") || rest.starts_with("Null") ||
                             rest.starts_with("NULL");
        return explicit_null ? p : empty_value_pos(offset(n));
    }
    if (!n.IsScalar()) return p;
    size_t at = offset(n);
    if (at >= text_.size()) return p;
    char c = text_[at];
    if (c == '"' || c == '\'') {
        ++p.col;
        return p;
    }
    if (c != '|' && c != '>') return p;
    // Block scalar: content starts on the first non-blank line after the indicator.
    size_t i = text_.find('\n', at);
    while (i != std::string::npos) {
        ++i;
        ++p.line;
        size_t j = i;
        while (j < text_.size() && text_[j] == ' ') ++j;
        if (j < text_.size() && text_[j] != '\n' && text_[j] != '\r') {
            p.col = static_cast<int>(j - i) + 1;
            return p;
        }
        i = text_.find('\n', i);
    }
    return pos(n);
}

std::string describe_node(const YAML::Node& n) {
    switch (n.Type()) {
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return "nothing";
    case YAML::NodeType::Scalar: break;
    }
    return "\"" + n.Scalar() + "\"";
}

bool is_plain_scalar(const YAML::Node& n) { return n.IsScalar() && n.Tag() == "?"; }

bool is_null_node(const YAML::Node& n) {
    if (n.IsNull() || !n.IsDefined()) return true;
    if (!is_plain_scalar(n)) return false;
    const std::string& s = n.Scalar();
    return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::string join_names(const std::vector<std::string>& names) {
    std::string s;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0) s += i + 1 == names.size() ? " or " : ", ";
        s += names[i];
    }
    return s;
}

YamlMap::YamlMap(YamlFile& f, const YAML::Node& node, std::string what, std::vector<std::string> known)
    : f_(f), node_(node), what_(std::move(what)) {
    if (!node.IsMap()) {
        f.error(f.content_pos(node), what_ + " must be a map, got " + describe_node(node));
        return;
    }
    ok_ = true;
    for (auto it = node.begin(); it != node.end(); ++it) {
        YAML::Node k = it->first;
        if (!k.IsScalar()) {
            f.error(f.pos(k), "keys in " + what_ + " must be plain names, got " + describe_node(k));
            continue;
        }
        const std::string& name = k.Scalar();
        bool is_known = false;
        for (const auto& c : known) is_known = is_known || c == name;
        if (!is_known) {
            std::string hint = closest_match(name, known);
            std::string msg = "unknown key \"" + name + "\"";
            std::string all;
            for (const auto& c : known) all += (all.empty() ? "" : ", ") + c;
            msg += hint.empty() ? " in " + what_ + " (known keys: " + all + ")"
                                : " (did you mean \"" + hint + "\"?)";
            f.error(f.pos(k), std::move(msg));
            continue;
        }
        if (find(name)) {
            f.error(f.pos(k), "duplicate key \"" + name + "\" (first at line " + std::to_string(key_pos(name).line) +
                                  ")");
            continue;
        }
        entries_.emplace_back(k, it->second);
    }
}

const YAML::Node* YamlMap::find(std::string_view key) const {
    for (const auto& e : entries_)
        if (e.first.Scalar() == key) return &e.second;
    return nullptr;
}

SourcePos YamlMap::key_pos(std::string_view key) const {
    for (const auto& e : entries_)
        if (e.first.Scalar() == key) return f_.pos(e.first);
    return pos();
}

SourcePos YamlMap::value_pos(std::string_view key) const {
    const YAML::Node* v = find(key);
    if (!v) return key_pos(key);
    return f_.content_pos(*v);
}

std::vector<std::string> YamlMap::keys() const {
    std::vector<std::string> out;
    for (const auto& e : entries_) out.push_back(e.first.Scalar());
    return out;
}

bool YamlMap::require(std::string_view key) {
    if (has(key)) return true;
    if (ok_) f_.error(pos(), what_ + " is missing required key \"" + std::string(key) + "\"");
    return false;
}

namespace {
bool wrong_type(YamlFile& f, const YAML::Node& n, std::string_view name, std::string_view expected) {
    f.error(f.content_pos(n), "\"" + std::string(name) + "\" must be " + std::string(expected) + ", got " +
                                  describe_node(n));
    return false;
}
}  // namespace

bool scalar_string(YamlFile& f, const YAML::Node& n, std::string_view name, std::string& out) {
    if (!n.IsScalar()) return wrong_type(f, n, name, "a string");
    out = n.Scalar();
    return true;
}

bool scalar_int(YamlFile& f, const YAML::Node& n, std::string_view name, int64_t& out, int64_t min, int64_t max) {
    if (!n.IsScalar() || !is_plain_scalar(n)) return wrong_type(f, n, name, "an integer");
    const std::string& s = n.Scalar();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return wrong_type(f, n, name, "an integer");
    if (v < min || v > max) {
        f.error(f.content_pos(n), "\"" + std::string(name) + "\" must be between " + std::to_string(min) + " and " +
                                      std::to_string(max) + ", got " + s);
        return false;
    }
    out = v;
    return true;
}

bool scalar_duration(YamlFile& f, const YAML::Node& n, std::string_view name, int64_t& out_ms, int64_t min_ms) {
    if (!n.IsScalar()) return wrong_type(f, n, name, "a duration");
    auto d = parse_duration_ms(n.Scalar());
    if (!d) {
        f.error(f.content_pos(n), "\"" + std::string(name) + "\": bad duration \"" + n.Scalar() +
                                      "\" (use a number and a unit: 500ms, 5s, 10m, 2h, 7d)");
        return false;
    }
    if (*d < min_ms) {
        f.error(f.content_pos(n), "\"" + std::string(name) + "\" must be at least " + format_duration(min_ms) +
                                      ", got " + n.Scalar());
        return false;
    }
    out_ms = *d;
    return true;
}

bool scalar_enum(YamlFile& f, const YAML::Node& n, std::string_view name, const std::vector<std::string>& names,
                 size_t& out) {
    if (!n.IsScalar()) return wrong_type(f, n, name, "one of " + join_names(names));
    const std::string& s = n.Scalar();
    for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] == s) {
            out = i;
            return true;
        }
    }
    std::string hint = closest_match(s, names);
    std::string msg = "\"" + std::string(name) + "\" must be " + join_names(names) + ", got \"" + s + "\"";
    if (!hint.empty()) msg += " (did you mean \"" + hint + "\"?)";
    f.error(f.content_pos(n), std::move(msg));
    return false;
}

bool YamlMap::get_string(std::string_view key, std::string& out) {
    const YAML::Node* v = find(key);
    return v && scalar_string(f_, *v, key, out);
}

bool YamlMap::get_bool(std::string_view key, bool& out) {
    const YAML::Node* v = find(key);
    if (!v) return false;
    if (is_plain_scalar(*v)) {
        const std::string& s = v->Scalar();
        if (s == "true" || s == "True" || s == "TRUE") return out = true, true;
        if (s == "false" || s == "False" || s == "FALSE") return out = false, true;
    }
    return wrong_type(f_, *v, key, "true or false");
}

bool YamlMap::get_int(std::string_view key, int64_t& out, int64_t min, int64_t max) {
    const YAML::Node* v = find(key);
    return v && scalar_int(f_, *v, key, out, min, max);
}

bool YamlMap::get_duration(std::string_view key, int64_t& out_ms, int64_t min_ms) {
    const YAML::Node* v = find(key);
    return v && scalar_duration(f_, *v, key, out_ms, min_ms);
}

bool YamlMap::get_size(std::string_view key, uint64_t& out) {
    const YAML::Node* v = find(key);
    if (!v) return false;
    if (!v->IsScalar()) return wrong_type(f_, *v, key, "a size");
    auto s = parse_size_bytes(v->Scalar());
    if (!s) {
        f_.error(f_.content_pos(*v), "\"" + std::string(key) + "\": bad size \"" + v->Scalar() +
                                         "\" (use a number and a unit: 512MiB, 4GiB)");
        return false;
    }
    out = *s;
    return true;
}

bool YamlMap::get_enum(std::string_view key, const std::vector<std::string>& names, size_t& out) {
    const YAML::Node* v = find(key);
    return v && scalar_enum(f_, *v, key, names, out);
}

bool YamlMap::get_string_list(std::string_view key, std::vector<std::string>& out, bool allow_scalar,
                              std::vector<SourcePos>* positions) {
    const YAML::Node* v = find(key);
    if (!v) return false;
    if (v->IsScalar() && allow_scalar) {
        out = {v->Scalar()};
        if (positions) *positions = {f_.content_pos(*v)};
        return true;
    }
    if (!v->IsSequence())
        return wrong_type(f_, *v, key, allow_scalar ? "a string or a list of strings" : "a list of strings");
    std::vector<std::string> items;
    std::vector<SourcePos> where;
    bool ok = true;
    for (const auto& item : *v) {
        std::string s;
        if (!scalar_string(f_, item, key, s)) {
            ok = false;
            continue;
        }
        items.push_back(std::move(s));
        where.push_back(f_.content_pos(item));
    }
    if (!ok) return false;
    out = std::move(items);
    if (positions) *positions = std::move(where);
    return true;
}

}  // namespace vigil
