// `window:`, `grace`, `aggregate`, `having`, `emit_when` (SPEC 3.3).
#include "rules/rule_parser.h"
#include "rules/units.h"

namespace vigil {

namespace {

const std::vector<std::string> kWindowTypes = {"tumbling", "hopping", "sliding", "session", "count"};
const std::vector<std::string> kAggregates = {"count", "sum",  "avg",      "min",    "max",
                                              "first", "last", "distinct", "stddev", "collect"};

// Which window types take which keys.
bool takes(WindowType t, std::string_view key) {
    if (key == "size") return t != WindowType::Session;
    if (key == "advance") return t == WindowType::Hopping;
    if (key == "gap") return t == WindowType::Session;
    if (key == "slide") return t == WindowType::Count;
    return true;
}

std::string window_needs(WindowType t) {
    switch (t) {
    case WindowType::Hopping: return "size and advance";
    case WindowType::Session: return "gap";
    case WindowType::Count: return "size (and optionally slide)";
    default: return "size";
    }
}

void parse_window_shape(YamlFile& f, YamlMap& m, WindowSpec& w) {
    size_t type = 0;
    if (!m.require("type") || !m.get_enum("type", kWindowTypes, type)) return;
    w.type = static_cast<WindowType>(type);
    const std::string& tname = kWindowTypes[type];
    for (const auto& k : m.keys()) {
        if (!takes(w.type, k))
            f.error(m.key_pos(k), "\"" + k + "\" does not apply to a " + tname + " window (it takes " +
                                      window_needs(w.type) + ")");
    }
    auto need = [&](const char* key) {
        if (m.has(key)) return true;
        f.error(m.pos(), "a " + tname + " window needs \"" + key + "\"");
        return false;
    };
    if (w.type == WindowType::Count) {
        int64_t v = 0;
        if (need("size") && m.get_int("size", v, 1, 1'000'000'000)) w.count_size = static_cast<uint64_t>(v);
        if (m.has("slide") && m.get_int("slide", v, 1, 1'000'000'000)) {
            w.count_slide = static_cast<uint64_t>(v);
            if (w.count_size > 0 && w.count_slide > w.count_size)
                f.error(m.value_pos("slide"), "\"slide\" (" + std::to_string(w.count_slide) +
                                                  ") must not exceed \"size\" (" + std::to_string(w.count_size) + ")");
        }
        return;
    }
    if (w.type == WindowType::Session) {
        if (need("gap")) m.get_duration("gap", w.gap_ms, 1);
        return;
    }
    if (need("size")) m.get_duration("size", w.size_ms, 1);
    if (w.type != WindowType::Hopping || !need("advance")) return;
    if (!m.get_duration("advance", w.advance_ms, 1) || w.size_ms == 0) return;
    if (w.advance_ms > w.size_ms)
        f.error(m.value_pos("advance"), "\"advance\" (" + format_duration(w.advance_ms) +
                                            ") must not exceed \"size\" (" + format_duration(w.size_ms) +
                                            "): events between windows would be skipped");
    else if (w.advance_ms == w.size_ms)
        f.warning(m.value_pos("advance"), "a hopping window with advance equal to size is a tumbling window");
    else if (w.size_ms % w.advance_ms != 0)
        f.warning(m.value_pos("advance"), "\"size\" is not a multiple of \"advance\": windows will not line up");
}

// `name: func(arg)`: the function name, then the argument text up to the matching ')'.
void parse_aggregate(YamlFile& f, const YAML::Node& key, const YAML::Node& val, WindowSpec& w,
                     const LuaProgram* lua) {
    AggregateSpec a;
    a.name = key.IsScalar() ? key.Scalar() : std::string();
    a.pos = f.pos(key);
    if (!is_identifier(a.name)) {
        f.error(a.pos, "aggregate name \"" + a.name + "\" must be an identifier (letters, digits, '_')");
        return;
    }
    for (const auto& seen : w.aggregates)
        if (seen.name == a.name) f.error(a.pos, "duplicate aggregate \"" + a.name + "\"");
    SourcePos at = f.content_pos(val);
    std::string text = val.IsScalar() ? val.Scalar() : std::string();
    size_t open = text.find('(');
    size_t close = text.find_last_not_of(" \t\r\n");
    if (!val.IsScalar() || open == std::string::npos || close == std::string::npos || text[close] != ')') {
        f.error(at, "aggregate \"" + a.name + "\" must be a call such as avg(value) or count(), got " +
                        describe_node(val));
        return;
    }
    size_t name_begin = text.find_first_not_of(" \t");
    std::string fn = text.substr(name_begin, open - name_begin);
    while (!fn.empty() && (fn.back() == ' ' || fn.back() == '\t')) fn.pop_back();
    bool known = false;
    for (const auto& k : kAggregates) known = known || k == fn;
    if (!known) {
        std::string hint = closest_match(fn, kAggregates);
        f.error(at, "unknown aggregate function \"" + fn + "\"" +
                        (hint.empty() ? " (use " + join_names(kAggregates) + ")" : " (did you mean \"" + hint + "\"?)"));
        return;
    }
    a.function = fn;
    std::string arg = text.substr(open + 1, close - open - 1);
    size_t arg_begin = arg.find_first_not_of(" \t");
    if (arg_begin == std::string::npos) {
        if (fn != "count") f.error(at, fn + "() needs an argument: " + fn + "(expression)");
        w.aggregates.push_back(std::move(a));
        return;
    }
    SourcePos arg_at = at;
    if (text.find('\n') == std::string::npos || text.find('\n') > open) arg_at.col += static_cast<int>(open + 1 + arg_begin);
    ExprScope scope;
    scope.lua = lua;
    scope.tables = f.tables;
    arg.erase(0, arg_begin);
    arg.erase(arg.find_last_not_of(" \t\r\n") + 1);
    a.arg = Expr::compile(arg, scope, arg_at, f.diags());
    w.aggregates.push_back(std::move(a));
}

}  // namespace

void parse_window(YamlFile& f, YamlMap& rm, Rule& r) {
    WindowSpec& w = r.window;
    YamlMap m(f, *rm.find("window"), "window", {"type", "size", "advance", "gap", "slide"});
    if (m.ok()) parse_window_shape(f, m, w);
    rm.get_duration("grace", w.grace_ms, 0);
    if (w.type == WindowType::Count && rm.has("grace"))
        f.warning(rm.key_pos("grace"), "\"grace\" has no effect on a count window");
    if (const YAML::Node* agg = rm.find("aggregate")) {
        if (!agg->IsMap()) {
            f.error(rm.value_pos("aggregate"), "\"aggregate\" must be a map of name: function(expression), got " +
                                                   describe_node(*agg));
        } else {
            for (auto it = agg->begin(); it != agg->end(); ++it) parse_aggregate(f, it->first, it->second, w, r.lua.get());
        }
    }
    size_t when = 0;
    if (rm.get_enum("emit_when", {"on_close", "on_update"}, when))
        w.emit_when = when == 0 ? EmitWhen::OnClose : EmitWhen::OnUpdate;
    if (const YAML::Node* h = rm.find("having")) {
        ExprScope scope;
        scope.has_event = false;
        scope.lua = r.lua.get();
        for (const auto& a : w.aggregates) scope.vars.push_back(a.name);
        w.having = compile_expr_node(f, *h, "having", scope);
    }
    if (!rm.has("aggregate"))
        f.warning(rm.key_pos("window"), "window rule without \"aggregate\": its results carry no values");
}

}  // namespace vigil
