// One rule map -> a validated Rule (SPEC 3): metadata, stream and key, the body
// (pattern, window or Lua, parsed in rule_pattern.cpp and rule_window.cpp), emit.
#include "rules/rule_parser.h"

#include "rules/lua_host.h"
#include "rules/units.h"

namespace vigil {

namespace {

const std::vector<std::string> kRuleKeys = {
    "rule",  "description", "severity",  "tags",      "enabled",   "stream",     "key",
    "where", "pattern",     "within",    "within_type", "skip",    "window",     "grace",
    "aggregate", "having",  "emit_when", "lua",       "emit",      "late_topic", "state_on_change",
    "max_partial_matches",  "max_keys",    "warm_start"};
const std::vector<std::string> kPatternOnly = {"within", "within_type", "skip", "max_partial_matches"};
const std::vector<std::string> kWindowOnly = {"grace", "aggregate", "having", "emit_when"};
const std::vector<std::string> kSeverities = {"info", "low", "medium", "high", "critical"};

bool valid_rule_id(std::string_view id) {
    if (id.empty()) return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}

void parse_key(YamlFile& f, YamlMap& m, Rule& r) {
    std::vector<std::string> paths;
    std::vector<SourcePos> where;
    if (!m.get_string_list("key", paths, true, &where)) return;
    for (size_t i = 0; i < paths.size(); ++i) {
        FieldPath fp;
        std::string err;
        if (!FieldPath::parse(paths[i], fp, &err)) {
            f.error(where[i], "bad key \"" + paths[i] + "\": " + err);
            continue;
        }
        r.key.push_back(std::move(fp));
    }
}

void parse_stream(YamlFile& f, YamlMap& m, Rule& r, const std::vector<StreamSpec>& streams) {
    if (!m.has("stream")) {
        if (!streams.empty())
            f.error(m.key_pos("rule"), "rule \"" + r.id + "\" is missing required key \"stream\"");
        return;
    }
    if (!m.get_string("stream", r.stream) || streams.empty()) return;
    std::vector<std::string> names;
    for (const auto& s : streams) names.push_back(s.name);
    for (const auto& n : names)
        if (n == r.stream) return;
    std::string hint = closest_match(r.stream, names);
    std::string msg = "unknown stream \"" + r.stream + "\"";
    msg += hint.empty() ? " (the config defines " + join_names(names) + ")" : " (did you mean \"" + hint + "\"?)";
    f.error(m.value_pos("stream"), std::move(msg));
}

// Keys that belong to another body: `within` on a window rule, `grace` on a pattern.
void check_body_keys(YamlFile& f, YamlMap& m, const Rule& r) {
    if (r.body != RuleBody::Pattern)
        for (const auto& k : kPatternOnly)
            if (m.has(k)) f.error(m.key_pos(k), "\"" + k + "\" applies only to pattern rules");
    if (r.body != RuleBody::Window)
        for (const auto& k : kWindowOnly)
            if (m.has(k)) f.error(m.key_pos(k), "\"" + k + "\" applies only to window rules");
}

// Which of pattern / window / lua is the body; reports none or more than one.
bool choose_body(YamlFile& f, YamlMap& m, Rule& r) {
    bool pattern = m.has("pattern"), window = m.has("window"), lua = m.has("lua");
    if (pattern && window) {
        f.error(m.key_pos("window"), "a rule has one body: \"pattern\" or \"window\", not both");
        return false;
    }
    if (!pattern && !window && !lua) {
        f.error(m.key_pos("rule"), "rule \"" + r.id + "\" has no body: add \"pattern\", \"window\" or \"lua\"");
        return false;
    }
    r.body = pattern ? RuleBody::Pattern : window ? RuleBody::Window : RuleBody::Lua;
    return true;
}

void parse_lua(YamlFile& f, YamlMap& m, Rule& r) {
    if (!m.has("lua")) return;
    const YAML::Node& n = *m.find("lua");
    if (!n.IsScalar() || n.Scalar().find_first_not_of(" \t\r\n") == std::string::npos) {
        f.error(m.value_pos("lua"), "\"lua\" must be Lua source text (use a block: lua: |), got " +
                                        describe_node(n));
        return;
    }
    r.lua_source = n.Scalar();
    auto host = compile_lua(r.lua_source, f.file(), LuaLimits{}, f.content_pos(n), f.diags());
    if (!host) return;
    if (!m.has("pattern") && !m.has("window") && !host->has_function("on_event"))
        f.error(m.key_pos("lua"), "a Lua rule needs a function on_event(ev, state, ctx)");
    r.lua = std::move(host);
}

void parse_payload(YamlFile& f, const YAML::Node& n, Rule& r, const ExprScope& scope) {
    if (!n.IsMap()) {
        f.error(f.content_pos(n), "\"payload\" must be a map of name: expression, got " + describe_node(n));
        return;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
        std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string();
        if (name.empty()) {
            f.error(f.pos(it->first), "payload names must be plain strings");
            continue;
        }
        for (const auto& [seen, _] : r.emit.payload)
            if (seen == name) f.error(f.pos(it->first), "duplicate payload name \"" + name + "\"");
        ExprPtr e = compile_expr_node(f, it->second, "payload." + name, scope);
        r.emit.payload.emplace_back(name, std::move(e));
    }
}

void parse_emit(YamlFile& f, YamlMap& rm, Rule& r, const ExprScope& scope) {
    const YAML::Node* n = rm.find("emit");
    if (!n) return;
    YamlMap m(f, *n, "emit", {"topic", "payload", "timeouts", "throttle", "qos"});
    if (!m.ok()) return;
    std::string why;
    if (m.get_string("topic", r.emit.topic) && r.emit.topic.empty())
        f.error(m.value_pos("topic"), "\"topic\" must not be empty (leave it out to use alerts.topic)");
    else if (!r.emit.topic.empty() && !valid_topic_template(r.emit.topic, why))
        f.error(m.value_pos("topic"), "bad topic \"" + r.emit.topic + "\": " + why);
    if (const YAML::Node* p = m.find("payload")) parse_payload(f, *p, r, scope);
    if (m.get_bool("timeouts", r.emit.timeouts) && r.emit.timeouts && r.body != RuleBody::Pattern)
        f.error(m.key_pos("timeouts"), "\"timeouts\" applies only to pattern rules");
    m.get_duration("throttle", r.emit.throttle_ms, 1);
    int64_t qos = 0;
    if (m.get_int("qos", qos, 0, 2)) r.emit.qos = static_cast<int>(qos);
}

// Scope of emit.payload: the stages of a pattern, the aggregates of a window.
ExprScope payload_scope(const Rule& r) {
    ExprScope s;
    s.lua = r.lua.get();
    if (r.body == RuleBody::Pattern) {
        for (const auto& st : r.pattern.stages) s.stages.push_back(st.name);
    } else if (r.body == RuleBody::Window) {
        for (const auto& a : r.window.aggregates) s.vars.push_back(a.name);
        s.has_event = false;
    }
    return s;
}

}  // namespace

bool valid_topic_template(std::string_view t, std::string& why) {
    if (t.find_first_of("+#") != std::string_view::npos) {
        why = "a topic to publish to cannot hold the wildcards + or #";
        return false;
    }
    for (size_t open = t.find('{'); open != std::string_view::npos; open = t.find('{', open + 1)) {
        size_t close = t.find('}', open);
        std::string_view name = t.substr(open, close == std::string_view::npos ? close : close - open + 1);
        if (name != "{rule}" && name != "{key}" && name != "{severity}" && name != "{kind}") {
            why = "unknown placeholder \"" + std::string(name) + "\" (use {rule}, {key}, {severity} or {kind})";
            return false;
        }
    }
    return true;
}

bool is_identifier(std::string_view s) {
    if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

ExprPtr compile_expr_node(YamlFile& f, const YAML::Node& n, std::string_view name, const ExprScope& scope) {
    if (!n.IsScalar()) {
        f.error(f.content_pos(n), "\"" + std::string(name) + "\" must be an expression, got " + describe_node(n));
        return nullptr;
    }
    std::string text = n.Scalar();
    // A block scalar ends with a newline: an error "at the end" belongs on the last line.
    text.erase(text.find_last_not_of(" \t\r\n") + 1);
    if (text.empty()) {
        f.error(f.content_pos(n), "\"" + std::string(name) + "\" is an empty expression");
        return nullptr;
    }
    if (f.tables && !scope.tables) {
        ExprScope with_tables = scope;
        with_tables.tables = f.tables;
        return Expr::compile(text, with_tables, f.content_pos(n), f.diags());
    }
    return Expr::compile(text, scope, f.content_pos(n), f.diags());
}

ParsedRule parse_rule(YamlFile& f, const YAML::Node& node, const std::vector<StreamSpec>& streams,
                      const std::vector<std::string>& extra_keys) {
    ParsedRule out;
    std::vector<std::string> keys = kRuleKeys;
    keys.insert(keys.end(), extra_keys.begin(), extra_keys.end());
    size_t errors_before = f.diags().error_count();
    YamlMap m(f, node, "rule", keys);
    if (!m.ok()) return out;
    auto r = std::make_shared<Rule>();
    r->pos = m.pos();
    if (m.require("rule") && m.get_string("rule", r->id)) {
        out.id_pos = m.value_pos("rule");
        if (!valid_rule_id(r->id)) {
            f.error(out.id_pos, "rule id \"" + r->id + "\" may only use letters, digits, '-', '_' and '.'");
        } else {
            out.id = r->id;
            r->pos = out.id_pos;
        }
    }
    m.get_string("description", r->description);
    size_t sev = 0;
    if (m.get_enum("severity", kSeverities, sev)) r->severity = kSeverities[sev];
    m.get_string_list("tags", r->tags, false);
    m.get_bool("enabled", r->enabled);
    parse_stream(f, m, *r, streams);
    parse_key(f, m, *r);
    parse_lua(f, m, *r);

    ExprScope event_scope;
    event_scope.lua = r->lua.get();
    if (const YAML::Node* w = m.find("where")) r->where = compile_expr_node(f, *w, "where", event_scope);

    if (choose_body(f, m, *r)) {
        check_body_keys(f, m, *r);
        if (r->body == RuleBody::Pattern) parse_pattern(f, m, *r, r->lua.get());
        if (r->body == RuleBody::Window) parse_window(f, m, *r);
    }
    parse_emit(f, m, *r, payload_scope(*r));
    if (m.get_string("late_topic", r->late_topic) && r->late_topic.find_first_of("+#") != std::string::npos)
        f.error(m.value_pos("late_topic"), "bad late_topic \"" + r->late_topic +
                                               "\": a topic to publish to cannot hold the wildcards + or #");
    size_t soc = 0;
    if (m.get_enum("state_on_change", {"reset", "keep"}, soc))
        r->state_on_change = soc == 0 ? StateOnChange::Reset : StateOnChange::Keep;
    m.get_duration("warm_start", r->warm_start_ms);
    int64_t v = 0;
    if (m.get_int("max_keys", v, 1, 100'000'000)) r->max_keys = static_cast<uint32_t>(v);
    if (f.diags().error_count() > errors_before) return out;
    r->version = rule_version(node);
    out.rule = std::move(r);
    return out;
}

}  // namespace vigil
