// Files and folders of rules -> RuleSet + test cases (rules/rule_loader.h).
// The shape of a file: one rule (a map with `rule:`), a list of rules, or a map
// with `rules:` and `tests:`; a `*.test.yaml` file holds only `tests:`.
#include "rules/rule_loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "rules/rule_parser.h"

namespace vigil {

namespace fs = std::filesystem;

std::string keep_region(const std::string& text, size_t begin, size_t end) {
    std::string out = text;
    for (size_t i = 0; i < out.size(); ++i)
        if ((i < begin || i >= end) && out[i] != '\n') out[i] = ' ';
    return out;
}

std::string blank_region(const std::string& text, size_t begin, size_t end) {
    std::string out = text;
    for (size_t i = begin; i < end && i < out.size(); ++i)
        if (out[i] != '\n') out[i] = ' ';
    return out;
}

namespace {
void collect_offsets(const YamlFile& f, const YAML::Node& n, std::vector<size_t>& out) {
    // An empty value's mark points at whatever follows it: leave it out.
    if (!n.IsNull() && n.IsDefined()) out.push_back(f.offset(n));
    if (n.IsMap()) {
        for (auto it = n.begin(); it != n.end(); ++it) {
            collect_offsets(f, it->first, out);
            collect_offsets(f, it->second, out);
        }
    } else if (n.IsSequence()) {
        for (const auto& item : n) collect_offsets(f, item, out);
    }
}
}  // namespace

namespace {
// Just past the bracket that closes the flow collection opening at `at`, or npos.
size_t flow_end(const std::string& t, size_t at) {
    int depth = 0;
    char quote = 0;
    for (size_t i = at; i < t.size(); ++i) {
        char c = t[i];
        if (quote) {
            if (c == '\\' && quote == '"') ++i;
            else if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '[' || c == '{') {
            ++depth;
        } else if ((c == ']' || c == '}') && --depth == 0) {
            return i + 1;
        }
    }
    return std::string::npos;
}
}  // namespace

size_t subtree_end(const YamlFile& f, const YAML::Node& root, const YAML::Node& n) {
    size_t at = f.offset(n);
    if (at < f.text().size() && (f.text()[at] == '[' || f.text()[at] == '{')) {
        size_t end = flow_end(f.text(), at);
        if (end != std::string::npos) return end;
    }
    std::vector<size_t> inside, all;
    collect_offsets(f, n, inside);
    collect_offsets(f, root, all);
    size_t last = inside.empty() ? f.offset(n) : *std::max_element(inside.begin(), inside.end());
    size_t end = f.text().size();
    for (size_t o : all)
        if (o > last && o < end) end = o;
    // Leave the indentation and `- ` of the next item out of the region.
    size_t line_start = f.text().rfind('\n', end == 0 ? 0 : end - 1);
    line_start = line_start == std::string::npos ? 0 : line_start + 1;
    if (line_start < end && line_start > last &&
        f.text().find_first_not_of(" -\t", line_start) >= end)
        end = line_start;
    return end;
}

namespace {

struct Loader {
    const std::vector<StreamSpec>& streams;
    Diagnostics& diags;
    const std::vector<std::string>* tables = nullptr;
    size_t errors_before = 0;
    LoadedRules out;
    std::vector<std::shared_ptr<Rule>> rules;
    std::map<std::string, SourcePos> ids;  // every rule id seen, even of rules with errors

    void add_rule(YamlFile& f, const YAML::Node& node, const std::vector<std::string>& extra) {
        ParsedRule pr = parse_rule(f, node, streams, extra);
        if (!pr.id.empty()) {
            auto [it, fresh] = ids.emplace(pr.id, pr.id_pos);
            if (!fresh) {
                const SourcePos& first = it->second;
                std::string where = first.file == f.file() ? "line " + std::to_string(first.line)
                                                           : first.file + ":" + std::to_string(first.line);
                f.error(pr.id_pos, "duplicate rule id \"" + pr.id + "\" (first defined at " + where + ")");
                return;
            }
        }
        if (pr.rule) rules.push_back(std::move(pr.rule));
    }

    void add_rule_list(YamlFile& f, const YAML::Node& list) {
        if (!list.IsSequence()) {
            f.error(f.content_pos(list), "\"rules\" must be a list of rules, got " + describe_node(list));
            return;
        }
        for (const auto& item : list) add_rule(f, item, {});
    }

    // A test with `expect_error` and no inline rules is about the file's own rules:
    // they are compiled by the test (from the file without its tests), not loaded.
    bool own_rules_expect_error(const std::vector<RuleTestCase>& tests) const {
        for (const auto& t : tests)
            if (!t.expect_error.empty() && t.rules_yaml.empty()) return true;
        return false;
    }

    void load_document(YamlFile& f, const YAML::Node& root, bool test_file);
    void load_text(const std::string& text, const std::string& file);
    void load_path(const fs::path& p);
    void check_tests();
    void finish();
};

void Loader::load_document(YamlFile& f, const YAML::Node& root, bool test_file) {
    if (root.IsNull() || !root.IsDefined()) return;
    if (test_file && !root.IsSequence()) {
        YamlMap m(f, root, "test file", {"tests"});
        if (m.ok() && m.require("tests")) parse_tests(f, root, *m.find("tests"), out.tests);
        for (auto& t : out.tests)
            if (t.file == f.file() && !t.expect_error.empty() && t.rules_yaml.empty())
                f.error(t.pos, "an expect_error test in a *.test.yaml file needs inline \"rules:\"");
        return;
    }
    // A list of rules; in a *.test.yaml file this is how a test's inline rules are compiled.
    if (root.IsSequence()) {
        for (const auto& item : root) add_rule(f, item, {});
        return;
    }
    if (!root.IsMap()) {
        f.error(f.content_pos(root), "a rule file holds a rule (a map with \"rule:\"), a list of rules, or "
                                     "\"rules:\" and \"tests:\"; got " + describe_node(root));
        return;
    }
    // A map without `rules:` and `tests:` is meant as one rule, even when `rule:` is missing.
    bool single = root["rule"].IsDefined() || (!root["rules"].IsDefined() && !root["tests"].IsDefined());
    // (YAML::Node assignment writes through to the document: hold the node in an optional.)
    std::optional<YAML::Node> tests_node;
    size_t tests_key = 0;
    for (auto it = root.begin(); it != root.end() && !tests_node; ++it) {
        if (it->first.IsScalar() && it->first.Scalar() == "tests") {
            tests_node.emplace(it->second);
            tests_key = f.offset(it->first);
        }
    }
    std::vector<RuleTestCase> tests;
    if (tests_node) parse_tests(f, root, *tests_node, tests);
    if (own_rules_expect_error(tests)) {
        std::string rules_only = blank_region(f.text(), tests_key, subtree_end(f, root, *tests_node));
        for (auto& t : tests)
            if (t.rules_yaml.empty()) t.rules_yaml = rules_only;
    } else if (single) {
        add_rule(f, root, {"tests"});
    } else {
        YamlMap m(f, root, "rule file", {"rules", "tests"});
        if (const YAML::Node* r = m.find("rules")) add_rule_list(f, *r);
        if (m.ok() && !m.has("rules") && !m.has("tests"))
            f.error(m.pos(), "a rule file holds \"rule:\", \"rules:\" or \"tests:\"");
    }
    for (auto& t : tests) out.tests.push_back(std::move(t));
}

void Loader::load_text(const std::string& text, const std::string& file) {
    out.files.push_back(file);
    YamlFile f(file, text, diags);
    f.tables = tables;
    auto root = f.parse();
    if (!root) return;
    bool test_file = file.size() > 10 && (file.ends_with(".test.yaml") || file.ends_with(".test.yml"));
    load_document(f, *root, test_file);
}

void Loader::load_path(const fs::path& p) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
        std::vector<fs::path> files;
        for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (ec) break;
            const fs::path& q = it->path();
            std::string name = q.filename().string();
            if (name.starts_with('.')) {
                if (it->is_directory()) it.disable_recursion_pending();
                continue;
            }
            std::string ext = q.extension().string();
            // A vigil.yaml beside rules (examples, tests) is the config, not a rule file.
            if (name == "vigil.yaml" || name == "vigil.yml") continue;
            if (it->is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".lua")) files.push_back(q);
        }
        std::sort(files.begin(), files.end());
        for (const auto& q : files) load_path(q);
        return;
    }
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        diags.error({p.string(), 0, 0}, "cannot read: no such file or directory, or not readable");
        return;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (p.extension() == ".lua") {
        // Lua files are watched for reload; rules embed their Lua with `lua: |`.
        out.files.push_back(p.string());
        return;
    }
    load_text(ss.str(), p.string());
}

void Loader::check_tests() {
    std::vector<std::string> known;
    for (const auto& [id, _] : ids) known.push_back(id);
    for (const auto& t : out.tests) {
        if (!t.rules_yaml.empty()) continue;
        auto unknown = [&](const std::string& id, const SourcePos& at, const std::string& what) {
            if (ids.count(id)) return false;
            std::string hint = closest_match(id, known);
            diags.error(at, "test \"" + t.name + "\": " + what + " names unknown rule \"" + id + "\"" +
                                (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
            return true;
        };
        for (const auto& id : t.rules) unknown(id, t.pos, "\"rules\"");
        bool stream_known = t.stream.empty() || streams.empty();
        for (const auto& s : streams) stream_known = stream_known || s.name == t.stream;
        if (!stream_known) diags.error(t.pos, "test \"" + t.name + "\": unknown stream \"" + t.stream + "\"");
        size_t n_events = 0;
        for (const auto& e : t.events) n_events += e.is_watermark ? 0 : 1;
        for (const auto& e : t.expect) {
            if (e.rule.empty() || unknown(e.rule, e.pos, "an expectation")) continue;
            if (!t.rules.empty() && std::find(t.rules.begin(), t.rules.end(), e.rule) == t.rules.end())
                diags.error(e.pos, "test \"" + t.name + "\": expects an alert from \"" + e.rule +
                                       "\", which is not in the test's \"rules\"");
            const Rule* r = nullptr;
            for (const auto& x : rules)
                if (x->id == e.rule) r = x.get();
            for (const auto& [stage, idx] : e.events) {
                bool found = !r || r->body != RuleBody::Pattern;
                if (r)
                    for (const auto& st : r->pattern.stages) found = found || st.name == stage;
                if (!found) diags.error(e.pos, "test \"" + t.name + "\": rule \"" + e.rule + "\" has no stage \"" +
                                                   stage + "\"");
                for (size_t i : idx)
                    if (i >= n_events)
                        diags.error(e.pos, "test \"" + t.name + "\": event index " + std::to_string(i) +
                                               " is out of range (the test has " + std::to_string(n_events) +
                                               " events)");
            }
        }
    }
}

void Loader::finish() {
    check_tests();
    if (diags.error_count() > errors_before) return;
    auto set = std::make_shared<RuleSet>();
    for (auto& r : rules) set->rules.push_back(std::move(r));
    out.rules = std::move(set);
}

}  // namespace

LoadedRules load_rules(const std::vector<std::string>& paths, const std::vector<StreamSpec>& streams,
                       Diagnostics& diags, const std::vector<std::string>* tables) {
    Loader l{streams, diags, tables, diags.error_count(), {}, {}, {}};
    for (const auto& p : paths) l.load_path(p);
    l.finish();
    return std::move(l.out);
}

LoadedRules load_rules_text(const std::string& yaml, const std::string& file, const std::vector<StreamSpec>& streams,
                            Diagnostics& diags, const std::vector<std::string>* tables) {
    Loader l{streams, diags, tables, diags.error_count(), {}, {}, {}};
    l.load_text(yaml, file);
    l.finish();
    return std::move(l.out);
}

}  // namespace vigil
