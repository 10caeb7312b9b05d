// `tests:` (SPEC 5) -> RuleTestCase: events converted from YAML to JSON text with
// their types kept, `$watermark` lines, expectations, `expect_error` with inline rules.
#include <algorithm>
#include <charconv>
#include <regex>

#include "rules/json.h"
#include "rules/rule_parser.h"
#include "rules/units.h"

namespace vigil {

namespace {

const std::vector<std::string> kTestKeys = {"name", "rules", "stream", "tables", "events", "expect", "expect_error"};
const std::vector<std::string> kExpectKeys = {"rule", "key", "kind", "events", "window", "values", "payload"};
const std::vector<std::string> kKinds = {"match", "timeout", "window", "lua"};

// A plain YAML scalar as JSON: null, booleans and numbers keep their type
// (YAML 1.2 core schema); anything else, and every quoted scalar, is a string.
void scalar_json(const YAML::Node& n, std::string& out) {
    const std::string& s = n.Scalar();
    if (is_plain_scalar(n)) {
        if (is_null_node(n)) return void(out += "null");
        if (s == "true" || s == "True" || s == "TRUE") return void(out += "true");
        if (s == "false" || s == "False" || s == "FALSE") return void(out += "false");
        static const std::regex integer("[-+]?[0-9]+");
        static const std::regex real("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
        if (std::regex_match(s, integer)) {
            // Digits verbatim: a 19-digit id must not lose precision through a double.
            size_t i = s[0] == '+' ? 1 : 0;
            if (s[i] == '-') out += '-', ++i;
            size_t nz = s.find_first_not_of('0', i);
            out += nz == std::string::npos ? "0" : s.substr(nz);
            return;
        }
        if (std::regex_match(s, real)) {
            double d = 0;
            std::from_chars(s.data() + (s[0] == '+' ? 1 : 0), s.data() + s.size(), d);
            return json_number(out, d);
        }
    }
    json_escape(out, s);
}

}  // namespace

// YAML value -> JSON text; reports nodes that have no JSON form.
bool yaml_to_json(YamlFile& f, const YAML::Node& n, std::string& out) {
    if (n.IsMap()) {
        out += '{';
        bool first = true, ok = true;
        for (auto it = n.begin(); it != n.end(); ++it) {
            if (!it->first.IsScalar()) {
                f.error(f.pos(it->first), "keys of an event must be strings");
                ok = false;
                continue;
            }
            if (!first) out += ',';
            first = false;
            json_escape(out, it->first.Scalar());
            out += ':';
            ok = yaml_to_json(f, it->second, out) && ok;
        }
        out += '}';
        return ok;
    }
    if (n.IsSequence()) {
        out += '[';
        bool first = true, ok = true;
        for (const auto& item : n) {
            if (!first) out += ',';
            first = false;
            ok = yaml_to_json(f, item, out) && ok;
        }
        out += ']';
        return ok;
    }
    if (!n.IsDefined() || n.IsNull()) return out += "null", true;
    scalar_json(n, out);
    return true;
}

namespace {

// Epoch ms or RFC 3339.
bool time_value(YamlFile& f, const YAML::Node& n, std::string_view name, int64_t& out) {
    if (n.IsScalar()) {
        if (auto t = parse_time_arg_ms(n.Scalar())) return out = *t, true;
    }
    f.error(f.content_pos(n), "\"" + std::string(name) + "\" must be a time (epoch ms or RFC 3339), got " +
                                  describe_node(n));
    return false;
}

void parse_event(YamlFile& f, const YAML::Node& n, RuleTestCase& tc) {
    RuleTestInput in;
    in.pos = f.content_pos(n);
    if (!n.IsMap()) {
        f.error(in.pos, "a test event must be a map, got " + describe_node(n));
        return;
    }
    if (n.size() == 1 && n.begin()->first.IsScalar() && n.begin()->first.Scalar() == "$watermark") {
        in.is_watermark = true;
        if (!time_value(f, n.begin()->second, "$watermark", in.watermark)) return;
        tc.events.push_back(std::move(in));
        return;
    }
    if (yaml_to_json(f, n, in.json)) tc.events.push_back(std::move(in));
}

void parse_expect_events(YamlFile& f, const YAML::Node& n, RuleTestExpectation& e) {
    if (!n.IsMap()) {
        f.error(f.content_pos(n), "\"events\" must be a map of stage: [indices], got " + describe_node(n));
        return;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
        std::vector<size_t> idx;
        YAML::Node list = it->second;
        if (!list.IsSequence()) {
            f.error(f.content_pos(list), "event indices must be a list such as [0, 1], got " + describe_node(list));
            continue;
        }
        for (const auto& i : list) {
            int64_t v = 0;
            if (scalar_int(f, i, "events", v, 0, 1'000'000'000)) idx.push_back(static_cast<size_t>(v));
        }
        e.events.emplace_back(it->first.Scalar(), std::move(idx));
    }
}

void parse_expectation(YamlFile& f, const YAML::Node& n, RuleTestCase& tc) {
    YamlMap m(f, n, "expectation", kExpectKeys);
    if (!m.ok()) return;
    RuleTestExpectation e;
    e.pos = m.pos();
    if (m.require("rule")) m.get_string("rule", e.rule);
    m.get_string("key", e.key);
    size_t kind = 0;
    if (m.get_enum("kind", kKinds, kind)) e.kind = kKinds[kind];
    if (const YAML::Node* ev = m.find("events")) parse_expect_events(f, *ev, e);
    if (const YAML::Node* w = m.find("window")) {
        YamlMap wm(f, *w, "window", {"start", "end"});
        if (wm.ok() && wm.require("start") && wm.require("end")) {
            e.has_window = time_value(f, *wm.find("start"), "start", e.window_start) &
                           time_value(f, *wm.find("end"), "end", e.window_end);
        }
    }
    for (const char* k : {"values", "payload"}) {
        const YAML::Node* v = m.find(k);
        if (!v) continue;
        if (!v->IsMap()) {
            f.error(m.value_pos(k), "\"" + std::string(k) + "\" must be a map, got " + describe_node(*v));
            continue;
        }
        yaml_to_json(f, *v, std::string(k) == "values" ? e.values_json : e.payload_json);
    }
    tc.expect.push_back(std::move(e));
}

// `rules:` is a list of rule ids, or of inline rule definitions (for expect_error).
void parse_test_rules(YamlFile& f, const YAML::Node& root, const YAML::Node& n, RuleTestCase& tc) {
    if (!n.IsSequence()) {
        f.error(f.content_pos(n), "\"rules\" must be a list of rule ids or rule definitions, got " +
                                      describe_node(n));
        return;
    }
    bool inline_rules = false;
    for (const auto& item : n) {
        if (item.IsMap()) {
            inline_rules = true;
        } else if (item.IsScalar()) {
            tc.rules.push_back(item.Scalar());
        } else {
            f.error(f.content_pos(item), "\"rules\" entries must be rule ids or rule maps, got " + describe_node(item));
        }
    }
    if (!inline_rules) return;
    if (!tc.rules.empty()) {
        f.error(f.content_pos(n), "\"rules\" mixes rule ids and inline rules: use one or the other");
        return;
    }
    // The inline rules keep their place in the file so that their diagnostics point into it.
    tc.rules_yaml = keep_region(f.text(), f.offset(n), subtree_end(f, root, n));
}

// tables: {devices: {pump-1: {rated_temp: 80}, ...}, ...}
void parse_test_tables(YamlFile& f, const YAML::Node& n, RuleTestCase& tc) {
    if (!n.IsMap()) {
        f.error(f.content_pos(n), "\"tables\" must be a map of table name: {key: row}, got " + describe_node(n));
        return;
    }
    for (auto t = n.begin(); t != n.end(); ++t) {
        std::string name = t->first.IsScalar() ? t->first.Scalar() : std::string();
        if (f.tables && std::find(f.tables->begin(), f.tables->end(), name) == f.tables->end()) {
            std::string near = closest_match(name, *f.tables);
            f.error(f.pos(t->first), "unknown table \"" + name + "\"" +
                                         (near.empty() ? std::string() : " (did you mean \"" + near + "\"?)"));
            continue;
        }
        if (!t->second.IsMap()) {
            f.error(f.content_pos(t->second),
                    "table \"" + name + "\" must be a map of key: row, got " + describe_node(t->second));
            continue;
        }
        for (auto r = t->second.begin(); r != t->second.end(); ++r) {
            RuleTestTableRow row;
            row.table = name;
            row.key = r->first.IsScalar() ? r->first.Scalar() : std::string();
            row.pos = f.pos(r->first);
            if (!r->second.IsMap()) {
                f.error(f.content_pos(r->second), "row \"" + row.key + "\" of table \"" + name +
                                                      "\" must be a map of field: value, got " + describe_node(r->second));
                continue;
            }
            if (yaml_to_json(f, r->second, row.json)) tc.tables.push_back(std::move(row));
        }
    }
}

}  // namespace

void parse_tests(YamlFile& f, const YAML::Node& root, const YAML::Node& tests, std::vector<RuleTestCase>& out) {
    if (!tests.IsSequence()) {
        f.error(f.content_pos(tests), "\"tests\" must be a list of test cases, got " + describe_node(tests));
        return;
    }
    for (const auto& n : tests) {
        YamlMap m(f, n, "test", kTestKeys);
        if (!m.ok()) continue;
        RuleTestCase tc;
        tc.file = f.file();
        tc.pos = m.pos();
        if (m.require("name")) m.get_string("name", tc.name);
        if (const YAML::Node* r = m.find("rules")) parse_test_rules(f, root, *r, tc);
        m.get_string("stream", tc.stream);
        if (const YAML::Node* t = m.find("tables")) parse_test_tables(f, *t, tc);
        if (const YAML::Node* ev = m.find("events")) {
            if (!ev->IsSequence())
                f.error(m.value_pos("events"), "\"events\" must be a list, got " + describe_node(*ev));
            else
                for (const auto& e : *ev) parse_event(f, e, tc);
        }
        if (const YAML::Node* ex = m.find("expect")) {
            tc.expect_given = true;
            if (!ex->IsSequence())
                f.error(m.value_pos("expect"), "\"expect\" must be a list (expect: [] for no alert), got " +
                                                   describe_node(*ex));
            else
                for (const auto& e : *ex) parse_expectation(f, e, tc);
        }
        if (m.get_string("expect_error", tc.expect_error) && tc.expect_error.empty())
            f.error(m.value_pos("expect_error"), "\"expect_error\" must not be empty");
        if (!tc.expect_given && tc.expect_error.empty())
            f.error(m.pos(), "test \"" + tc.name + "\" needs \"expect\" (expect: [] for no alert) or \"expect_error\"");
        if (tc.expect_given && !tc.expect_error.empty())
            f.error(m.key_pos("expect_error"), "a test has either \"expect\" or \"expect_error\", not both");
        if (!tc.rules_yaml.empty() && tc.expect_error.empty())
            f.warning(m.key_pos("rules"), "inline rules are only compiled for \"expect_error\" tests");
        out.push_back(std::move(tc));
    }
}

}  // namespace vigil
