#pragma once
// Private to the rule loader: one rule map -> a validated Rule, the `tests:` list
// -> RuleTestCases, and the normalized form a rule version is hashed from.
// Every problem goes into the YamlFile's Diagnostics; nothing throws.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/rule.h"
#include "rules/rule_loader.h"
#include "rules/yaml_reader.h"

namespace vigil {

struct ParsedRule {
    std::string id;                // "" when missing
    SourcePos id_pos;
    std::shared_ptr<Rule> rule;    // null when the rule had errors
};

// `extra_keys` are accepted beside the rule keys and ignored (e.g. `tests` in a
// single-rule file). `streams` empty: any stream name, and `stream` is optional.
ParsedRule parse_rule(YamlFile& f, const YAML::Node& node, const std::vector<StreamSpec>& streams,
                      const std::vector<std::string>& extra_keys);

// Pieces of parse_rule, by part of the rule (rule_pattern.cpp, rule_window.cpp).
void parse_pattern(YamlFile& f, YamlMap& m, Rule& r, const LuaProgram* lua);
void parse_window(YamlFile& f, YamlMap& m, Rule& r);

// Compiles the scalar `n` (a `where`, `until`, `having`, payload value or aggregate
// argument) with its position in the file; reports a non-scalar or empty value.
ExprPtr compile_expr_node(YamlFile& f, const YAML::Node& n, std::string_view name, const ExprScope& scope);

// Is `s` a name expressions can refer to ([A-Za-z_][A-Za-z0-9_]*)?
bool is_identifier(std::string_view s);

// The rule version (8 hex digits) and the canonical text it hashes (rule_version.cpp).
std::string normalized_rule(const YAML::Node& rule);
std::string rule_version(const YAML::Node& rule);

// Appends the cases of a `tests:` list (rule_tests.cpp); `root` is the document.
void parse_tests(YamlFile& f, const YAML::Node& root, const YAML::Node& tests, std::vector<RuleTestCase>& out);
// A YAML value as JSON text, types kept (plain `3` a number, `"3"` a string).
bool yaml_to_json(YamlFile& f, const YAML::Node& n, std::string& out);

// The text with every byte outside [begin, end) replaced by a space (newlines
// kept), so that a slice of a file parses with its original line:col positions.
std::string keep_region(const std::string& text, size_t begin, size_t end);
// The text with the bytes in [begin, end) replaced by spaces (newlines kept).
std::string blank_region(const std::string& text, size_t begin, size_t end);
// Byte offset just past the subtree of `n`: the mark of the first node after it in
// document order (or the end of the text).
size_t subtree_end(const YamlFile& f, const YAML::Node& root, const YAML::Node& n);

}  // namespace vigil
