#pragma once
// Reading rule files (SPEC 3 and 5): YAML (one rule or a list, plus `tests:`),
// `*.test.yaml` test files, and folders of them, into an immutable RuleSet and
// the test cases written next to the rules.
//
// Every problem is reported into Diagnostics as `file:line:col: error: message`
// in one pass: unknown keys (with "did you mean"), wrong types, bad durations,
// duplicate rule ids, unknown stage names, expressions that do not compile, ...
// The RuleSet is only produced when there were no errors.
#include <string>
#include <vector>

#include "rules/diagnostics.h"
#include "rules/json.h"
#include "rules/rule.h"

namespace vigil {

struct RuleTestExpectation {
    std::string rule;
    std::string key;           // "" = any
    std::string kind;          // "" = any (match | timeout | window | lua)
    // For pattern matches: stage name -> indices into the test's events (not counting $watermark lines).
    std::vector<std::pair<std::string, std::vector<size_t>>> events;
    bool has_window = false;
    int64_t window_start = 0, window_end = 0;
    std::string values_json;   // expected subset of `values` ("" = not checked)
    std::string payload_json;  // expected subset of `payload` ("" = not checked)
    SourcePos pos;
};

struct RuleTestInput {
    bool is_watermark = false;
    int64_t watermark = 0;
    std::string json;  // the event as a JSON object (YAML maps are converted)
    SourcePos pos;
};

// A row of a test case's `tables:` (reference tables, SPEC 3.5).
struct RuleTestTableRow {
    std::string table, key;
    std::string json;  // the row as a JSON object
    SourcePos pos;
};

struct RuleTestCase {
    std::string name;
    std::string file;
    SourcePos pos;
    std::vector<std::string> rules;        // rule ids under test; empty = every rule in the file
    std::string stream;                    // optional: stream name for the events
    std::vector<RuleTestInput> events;
    std::vector<RuleTestTableRow> tables;  // `tables: {name: {key: row}}`
    bool expect_given = false;
    std::vector<RuleTestExpectation> expect;
    // The rules must fail to compile with this message: it is looked for as a substring of the
    // diagnostics (so it may start with "LINE:COL: error: ").
    std::string expect_error;
    // The rules an expect_error test compiles, with load_rules_text(rules_yaml, file): the inline
    // `rules:` of the test, or (a test without inline rules) the file's own rules, which are then
    // not loaded into the RuleSet. Everything else in the file is blanked out, so that positions
    // stay those of the file.
    std::string rules_yaml;
};

struct LoadedRules {
    RuleSetPtr rules;                       // null when there were errors
    std::vector<RuleTestCase> tests;
    std::vector<std::string> files;         // every file read
};

// Loads files and folders (recursively: *.yaml, *.yml, *.lua rule files; *.test.yaml
// test files). `streams` (may be empty) lets the loader check `stream:` names and
// rule keys against the config. `tables` (null: not checked) are the configured
// reference table names that table("name", ...) may use.
LoadedRules load_rules(const std::vector<std::string>& paths, const std::vector<StreamSpec>& streams,
                       Diagnostics& diags, const std::vector<std::string>* tables = nullptr);

// Loads rules from YAML text (tests, expect_error cases). `file` names it in diagnostics.
LoadedRules load_rules_text(const std::string& yaml, const std::string& file,
                            const std::vector<StreamSpec>& streams, Diagnostics& diags,
                            const std::vector<std::string>* tables = nullptr);

}  // namespace vigil
