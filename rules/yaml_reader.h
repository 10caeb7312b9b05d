#pragma once
// A small checked layer over yaml-cpp for config and rule files: read a map with a
// known set of keys, report unknown keys (with "did you mean") and duplicate keys,
// and read typed values (strings, booleans, integers in a range, enums, durations,
// sizes, string lists) reporting wrong types and bad values with `file:line:col`.
//
// Guarantees: nothing here throws; every problem goes into the Diagnostics given to
// the YamlFile, and a getter that reports a problem leaves its output untouched, so
// callers keep their defaults and go on checking the rest of the file (one pass,
// every problem). Positions are 1-based; the position of a scalar is its first
// content character (after an opening quote, or on the first line of a block scalar).
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "rules/diagnostics.h"

namespace vigil {

class YamlFile {
public:
    YamlFile(std::string file, std::string text, Diagnostics& diags)
        : file_(std::move(file)), text_(std::move(text)), diags_(diags) {}

    // Parses the text; a syntax error is reported and yields nullopt.
    std::optional<YAML::Node> parse();

    const std::string& file() const { return file_; }
    const std::string& text() const { return text_; }
    Diagnostics& diags() { return diags_; }

    // Where the node starts (its mark).
    SourcePos pos(const YAML::Node& n) const;
    // Where a scalar's content starts: after the quote of a quoted scalar, on the
    // first content line of a block scalar (`|`, `>`); for an empty value, just
    // after its `key:`.
    SourcePos content_pos(const YAML::Node& n) const;
    // Byte offset of the node's mark in text().
    size_t offset(const YAML::Node& n) const;

    void error(const SourcePos& p, std::string msg) { diags_.error(p, std::move(msg)); }
    void warning(const SourcePos& p, std::string msg) { diags_.warning(p, std::move(msg)); }

    // Names of the configured reference tables, for checking table("name", ...); null: not checked.
    const std::vector<std::string>* tables = nullptr;

private:
    SourcePos empty_value_pos(size_t at) const;

    std::string file_;
    std::string text_;
    Diagnostics& diags_;
};

// "a list", "a map", "null", or the quoted scalar: for "got ..." in messages.
std::string describe_node(const YAML::Node& n);
// Was the scalar written without quotes or block indicator (so `3` is a number, `"3"` a string)?
bool is_plain_scalar(const YAML::Node& n);
// A plain scalar that YAML reads as null: ``, `~`, `null`, `Null`, `NULL`.
bool is_null_node(const YAML::Node& n);

// A map whose keys are checked against `known`. Construction reports a value that
// is not a map, unknown keys and duplicate keys.
class YamlMap {
public:
    YamlMap(YamlFile& f, const YAML::Node& node, std::string what, std::vector<std::string> known);

    bool ok() const { return ok_; }  // was a map
    const YAML::Node& node() const { return node_; }
    YamlFile& file() { return f_; }
    const std::string& what() const { return what_; }
    SourcePos pos() const { return f_.pos(node_); }

    bool has(std::string_view key) const { return find(key) != nullptr; }
    // The value node, or nullptr when the key is absent.
    const YAML::Node* find(std::string_view key) const;
    // Position of the key itself (for "missing value" and "not allowed here" errors).
    SourcePos key_pos(std::string_view key) const;
    // Position of the value (its content), or of the key when the value is empty.
    SourcePos value_pos(std::string_view key) const;
    // Keys in file order.
    std::vector<std::string> keys() const;

    // Reports `missing required key "KEY"` (at the map) and returns false when absent.
    bool require(std::string_view key);

    // Typed getters: false when absent or wrong (a wrong value is reported).
    bool get_string(std::string_view key, std::string& out);
    bool get_bool(std::string_view key, bool& out);
    bool get_int(std::string_view key, int64_t& out, int64_t min, int64_t max);
    bool get_duration(std::string_view key, int64_t& out_ms, int64_t min_ms = 0);
    bool get_size(std::string_view key, uint64_t& out);
    // One of `names`; out = the index of the name found.
    bool get_enum(std::string_view key, const std::vector<std::string>& names, size_t& out);
    // A string or (when allow_scalar) a list of strings.
    bool get_string_list(std::string_view key, std::vector<std::string>& out, bool allow_scalar,
                         std::vector<SourcePos>* positions = nullptr);

private:
    YamlFile& f_;
    YAML::Node node_;
    std::string what_;
    std::vector<std::pair<YAML::Node, YAML::Node>> entries_;  // only known keys, first occurrence
    bool ok_ = false;
};

// Checked scalar conversions used by the getters and by callers that walk lists.
bool scalar_string(YamlFile& f, const YAML::Node& n, std::string_view name, std::string& out);
bool scalar_int(YamlFile& f, const YAML::Node& n, std::string_view name, int64_t& out, int64_t min, int64_t max);
bool scalar_duration(YamlFile& f, const YAML::Node& n, std::string_view name, int64_t& out_ms, int64_t min_ms);
bool scalar_enum(YamlFile& f, const YAML::Node& n, std::string_view name, const std::vector<std::string>& names,
                 size_t& out);

// "a, b or c" for messages.
std::string join_names(const std::vector<std::string>& names);

}  // namespace vigil
