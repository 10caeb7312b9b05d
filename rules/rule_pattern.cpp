// `pattern:` stages, `within`, `within_type`, `skip`, `max_partial_matches` (SPEC 3.2),
// with the checks Flink CEP would make when the pattern is built.
#include <charconv>

#include "rules/rule_parser.h"

namespace vigil {

namespace {

const std::vector<std::string> kStageKeys = {"name",   "where",  "contiguity", "times", "optional",
                                             "greedy", "inner",  "until",      "not"};
const std::vector<std::string> kContiguity = {"strict", "relaxed", "any"};

Contiguity contiguity_of(size_t i) {
    return i == 0 ? Contiguity::Strict : i == 1 ? Contiguity::Relaxed : Contiguity::Any;
}

bool parse_count(std::string_view s, uint32_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

// times: N | N..M | N+
bool parse_times(YamlFile& f, const YAML::Node& n, StageSpec& st) {
    SourcePos at = f.content_pos(n);
    std::string s = n.IsScalar() ? n.Scalar() : std::string();
    uint32_t lo = 0, hi = 0;
    bool ok = false;
    if (size_t dots = s.find(".."); dots != std::string::npos) {
        ok = parse_count(std::string_view(s).substr(0, dots), lo) &&
             parse_count(std::string_view(s).substr(dots + 2), hi);
    } else if (!s.empty() && s.back() == '+') {
        ok = parse_count(std::string_view(s).substr(0, s.size() - 1), lo);
        hi = kUnbounded;
    } else {
        ok = parse_count(s, lo);
        hi = lo;
    }
    if (!ok) {
        f.error(at, "\"times\" must be N, N..M or N+ (e.g. 3, 2..4, 3+), got " + describe_node(n));
        return false;
    }
    if (lo == 0) {
        f.error(at, "\"times\" must be at least 1 (use optional: true to allow zero), got " + s);
        return false;
    }
    if (hi < lo) {
        f.error(at, "\"times\" range " + s + " is empty: the minimum is above the maximum");
        return false;
    }
    st.min_times = lo;
    st.max_times = hi;
    return true;
}

// The keys that only make sense on a looping stage, or not on a `not` stage.
void check_stage_shape(YamlFile& f, YamlMap& m, const StageSpec& st) {
    for (const char* k : {"greedy", "inner", "until"}) {
        if (!m.has(k)) continue;
        if (st.negated)
            f.error(m.key_pos(k), "\"" + std::string(k) + "\" does not apply to a not stage");
        else if (!st.looping())
            f.error(m.key_pos(k), "\"" + std::string(k) + "\" applies only to a looping stage (times: N+, N..M), "
                                  "but stage \"" + st.name + "\" matches one event");
    }
    if (!st.negated) return;
    for (const char* k : {"times", "optional"})
        if (m.has(k)) f.error(m.key_pos(k), "\"" + std::string(k) + "\" does not apply to a not stage");
    if (st.contiguity == Contiguity::Any)
        f.error(m.value_pos("contiguity"), "a not stage takes contiguity strict (notNext) or relaxed "
                                           "(notFollowedBy), not any");
}

bool parse_stage(YamlFile& f, const YAML::Node& n, StageSpec& st, YamlMap*& keep,
                 std::vector<std::unique_ptr<YamlMap>>& maps) {
    maps.push_back(std::make_unique<YamlMap>(f, n, "stage", kStageKeys));
    YamlMap& m = *maps.back();
    keep = &m;
    if (!m.ok()) return false;
    st.pos = m.pos();
    if (m.require("name") && m.get_string("name", st.name) && !is_identifier(st.name)) {
        f.error(m.value_pos("name"), "stage name \"" + st.name +
                                         "\" must be an identifier (letters, digits, '_'; not starting with a digit)");
    }
    if (m.has("name")) st.pos = m.value_pos("name");
    size_t c = 0;
    if (m.get_enum("contiguity", kContiguity, c)) st.contiguity = contiguity_of(c);
    if (m.get_enum("inner", kContiguity, c)) st.inner = contiguity_of(c);
    if (const YAML::Node* t = m.find("times")) parse_times(f, *t, st);
    m.get_bool("not", st.negated);
    if (m.get_bool("optional", st.optional) && st.optional) st.min_times = 0;
    m.get_bool("greedy", st.greedy);
    check_stage_shape(f, m, st);
    return true;
}

void parse_skip(YamlFile& f, YamlMap& m, PatternSpec& p) {
    std::string s;
    if (!m.get_string("skip", s)) return;
    SourcePos at = m.value_pos("skip");
    std::string word = s.substr(0, s.find(' '));
    std::string stage = s.size() > word.size() ? s.substr(word.size() + 1) : std::string();
    stage.erase(0, stage.find_first_not_of(' '));
    static const std::vector<std::string> names = {"no_skip", "to_next", "past_last_event", "to_first", "to_last"};
    size_t i = 0;
    for (; i < names.size(); ++i)
        if (names[i] == word) break;
    if (i == names.size()) {
        std::string hint = closest_match(word, names);
        f.error(at, "\"skip\" must be no_skip, to_next, past_last_event, to_first STAGE or to_last STAGE, got \"" +
                        s + "\"" + (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
        return;
    }
    bool needs_stage = i >= 3;
    if (needs_stage && stage.empty()) {
        f.error(at, "\"skip: " + word + "\" needs a stage name: " + word + " STAGE");
        return;
    }
    if (!needs_stage && !stage.empty()) {
        f.error(at, "\"skip: " + word + "\" takes no stage name");
        return;
    }
    if (needs_stage) {
        std::vector<std::string> stages;
        for (const auto& st : p.stages) stages.push_back(st.name);
        bool found = false;
        for (const auto& n : stages) found = found || n == stage;
        if (!found) {
            std::string hint = closest_match(stage, stages);
            SourcePos sp = at;
            sp.col += static_cast<int>(s.size() - stage.size());
            f.error(sp, "unknown stage \"" + stage + "\" in skip" +
                            (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
            return;
        }
    }
    p.skip = static_cast<SkipStrategy>(i);
    p.skip_stage = stage;
}

void check_pattern_shape(YamlFile& f, const PatternSpec& p) {
    if (p.stages.empty()) return;
    const StageSpec& first = p.stages.front();
    const StageSpec& last = p.stages.back();
    if (first.negated) f.error(first.pos, "a pattern cannot start with a not stage (\"" + first.name + "\")");
    if (last.negated && !p.within_ms && p.stages.size() > 1)
        f.error(last.pos, "a pattern that ends with a not stage (\"" + last.name +
                              "\") needs \"within\": absence is only known when the time runs out");
    bool any_required = false;
    for (const auto& st : p.stages) any_required = any_required || (!st.negated && st.min_times > 0);
    if (!any_required && !first.negated)
        f.error(first.pos, "every stage of the pattern is optional: at least one stage must match an event");
}

}  // namespace

void parse_pattern(YamlFile& f, YamlMap& rm, Rule& r, const LuaProgram* lua) {
    PatternSpec& p = r.pattern;
    const YAML::Node& n = *rm.find("pattern");
    if (!n.IsSequence() || n.size() == 0) {
        f.error(rm.value_pos("pattern"), "\"pattern\" must be a list of stages, got " +
                                             (n.IsSequence() ? std::string("an empty list") : describe_node(n)));
        return;
    }
    std::vector<std::unique_ptr<YamlMap>> maps;
    std::vector<YamlMap*> stage_maps;
    for (const auto& item : n) {
        StageSpec st;
        YamlMap* m = nullptr;
        if (!parse_stage(f, item, st, m, maps)) continue;
        for (const auto& prev : p.stages) {
            if (!st.name.empty() && prev.name == st.name)
                f.error(st.pos, "duplicate stage name \"" + st.name + "\" (first at line " +
                                    std::to_string(prev.pos.line) + ")");
        }
        if (p.stages.empty() && m->has("contiguity"))
            f.warning(m->key_pos("contiguity"), "\"contiguity\" of the first stage has no effect");
        p.stages.push_back(std::move(st));
        stage_maps.push_back(m);
    }
    if (rm.has("within")) {
        int64_t ms = 0;
        if (rm.get_duration("within", ms, 1)) p.within_ms = ms;
    }
    size_t wt = 0;
    if (rm.get_enum("within_type", {"first_and_last", "previous_and_current"}, wt))
        p.within_type = wt == 0 ? WithinType::FirstAndLast : WithinType::PreviousAndCurrent;
    parse_skip(f, rm, p);
    int64_t v = 0;
    if (rm.get_int("max_partial_matches", v, 1, 100'000'000)) p.max_partial_matches = static_cast<uint32_t>(v);
    check_pattern_shape(f, p);

    // Conditions last, so that they see every stage name.
    ExprScope scope;
    scope.lua = lua;
    for (const auto& st : p.stages) scope.stages.push_back(st.name);
    for (size_t i = 0; i < p.stages.size(); ++i) {
        scope.self_stage = static_cast<int>(i);
        YamlMap& m = *stage_maps[i];
        if (const YAML::Node* w = m.find("where")) p.stages[i].where = compile_expr_node(f, *w, "where", scope);
        if (const YAML::Node* u = m.find("until"); u && p.stages[i].looping() && !p.stages[i].negated)
            p.stages[i].until = compile_expr_node(f, *u, "until", scope);
    }
}

}  // namespace vigil
