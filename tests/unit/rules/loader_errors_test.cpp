// Bad rule files: each input has exactly one error, asserted with its message and
// its line:col.
#include <doctest/doctest.h>

#include "loader_test_util.h"

using vigil::test::load;

namespace {

struct Case {
    const char* name;
    const char* yaml;
    const char* error;  // the only error, without the trailing newline
};

// A valid two-stage pattern rule to start cases from.
#define HEAD "rule: r1\nstream: transactions\n"

const Case kCases[] = {
    {"unknown rule key with hint", HEAD "wher: amount > 1\npattern:\n  - name: a\n",
     "r.yaml:3:1: error: unknown key \"wher\" (did you mean \"where\"?)"},
    {"unknown rule key without hint", HEAD "zzzzzz: 1\npattern:\n  - name: a\n",
     "r.yaml:3:1: error: unknown key \"zzzzzz\" in rule (known keys: rule, description, severity, tags, enabled, "
     "stream, key, where, pattern, within, within_type, skip, window, grace, aggregate, having, emit_when, lua, "
     "emit, late_topic, state_on_change, max_partial_matches, max_keys, warm_start, tests)"},
    {"unknown stage key", HEAD "pattern:\n  - name: a\n    tims: 3\n",
     "r.yaml:5:5: error: unknown key \"tims\" (did you mean \"times\"?)"},
    {"duplicate key", HEAD "pattern:\n  - name: a\nstream: sensors\n",
     "r.yaml:5:1: error: duplicate key \"stream\" (first at line 2)"},
    {"missing rule id", "stream: transactions\npattern:\n  - name: a\n",
     "r.yaml:1:1: error: rule is missing required key \"rule\""},
    {"bad rule id", "rule: \"card testing\"\nstream: transactions\npattern:\n  - name: a\n",
     "r.yaml:1:8: error: rule id \"card testing\" may only use letters, digits, '-', '_' and '.'"},
    {"missing stream", "rule: r1\npattern:\n  - name: a\n",
     "r.yaml:1:1: error: rule \"r1\" is missing required key \"stream\""},
    {"unknown stream", "rule: r1\nstream: transaction\npattern:\n  - name: a\n",
     "r.yaml:2:9: error: unknown stream \"transaction\" (did you mean \"transactions\"?)"},
    {"unknown severity", HEAD "severity: critcal\npattern:\n  - name: a\n",
     "r.yaml:3:11: error: \"severity\" must be info, low, medium, high or critical, got \"critcal\" "
     "(did you mean \"critical\"?)"},
    {"enabled not a bool", HEAD "enabled: maybe\npattern:\n  - name: a\n",
     "r.yaml:3:10: error: \"enabled\" must be true or false, got \"maybe\""},
    {"tags not a list", HEAD "tags: {a: 1}\npattern:\n  - name: a\n",
     "r.yaml:3:7: error: \"tags\" must be a list of strings, got a map"},
    {"no body", HEAD "severity: high\n", "r.yaml:1:1: error: rule \"r1\" has no body: add \"pattern\", "
                                           "\"window\" or \"lua\""},
    {"two bodies", HEAD "pattern:\n  - name: a\nwindow: {type: tumbling, size: 1m}\n",
     "r.yaml:5:1: error: a rule has one body: \"pattern\" or \"window\", not both"},
    {"pattern not a list", HEAD "pattern: {name: a}\n",
     "r.yaml:3:10: error: \"pattern\" must be a list of stages, got a map"},
    {"empty pattern", HEAD "pattern: []\n", "r.yaml:3:10: error: \"pattern\" must be a list of stages, got an "
                                             "empty list"},
    {"stage without name", HEAD "pattern:\n  - where: amount > 1\n",
     "r.yaml:4:5: error: stage is missing required key \"name\""},
    {"stage name not an identifier", HEAD "pattern:\n  - name: 2nd\n",
     "r.yaml:4:11: error: stage name \"2nd\" must be an identifier (letters, digits, '_'; not starting with a digit)"},
    {"duplicate stage", HEAD "pattern:\n  - name: a\n  - name: a\n",
     "r.yaml:5:11: error: duplicate stage name \"a\" (first at line 4)"},
    {"times zero", HEAD "pattern:\n  - name: a\n    times: 0\n",
     "r.yaml:5:12: error: \"times\" must be at least 1 (use optional: true to allow zero), got 0"},
    {"times empty range", HEAD "pattern:\n  - name: a\n    times: 2..1\n",
     "r.yaml:5:12: error: \"times\" range 2..1 is empty: the minimum is above the maximum"},
    {"times garbage", HEAD "pattern:\n  - name: a\n    times: many\n",
     "r.yaml:5:12: error: \"times\" must be N, N..M or N+ (e.g. 3, 2..4, 3+), got \"many\""},
    {"greedy on a single stage", HEAD "pattern:\n  - name: a\n    greedy: true\n",
     "r.yaml:5:5: error: \"greedy\" applies only to a looping stage (times: N+, N..M), but stage \"a\" matches "
     "one event"},
    {"until on a single stage", HEAD "pattern:\n  - name: a\n    until: amount > 3\n",
     "r.yaml:5:5: error: \"until\" applies only to a looping stage (times: N+, N..M), but stage \"a\" matches "
     "one event"},
    {"inner on a single stage", HEAD "pattern:\n  - name: a\n    inner: strict\n",
     "r.yaml:5:5: error: \"inner\" applies only to a looping stage (times: N+, N..M), but stage \"a\" matches "
     "one event"},
    {"bad contiguity", HEAD "pattern:\n  - name: a\n  - name: b\n    contiguity: strcit\n",
     "r.yaml:6:17: error: \"contiguity\" must be strict, relaxed or any, got \"strcit\" (did you mean \"strict\"?)"},
    {"pattern starts with not", HEAD "pattern:\n  - name: a\n    not: true\n  - name: b\n",
     "r.yaml:4:11: error: a pattern cannot start with a not stage (\"a\")"},
    {"pattern ends with not without within", HEAD "pattern:\n  - name: a\n  - name: b\n    not: true\n",
     "r.yaml:5:11: error: a pattern that ends with a not stage (\"b\") needs \"within\": absence is only known "
     "when the time runs out"},
    {"not stage with times", HEAD "pattern:\n  - name: a\n  - name: b\n    not: true\n    times: 2\n"
                                  "within: 1m\n",
     "r.yaml:7:5: error: \"times\" does not apply to a not stage"},
    {"not stage with any contiguity", HEAD "pattern:\n  - name: a\n  - name: b\n    not: true\n"
                                          "    contiguity: any\nwithin: 1m\n",
     "r.yaml:7:17: error: a not stage takes contiguity strict (notNext) or relaxed (notFollowedBy), not any"},
    {"every stage optional", HEAD "pattern:\n  - name: a\n    optional: true\n",
     "r.yaml:4:11: error: every stage of the pattern is optional: at least one stage must match an event"},
    {"bad within", HEAD "pattern:\n  - name: a\nwithin: 10\n",
     "r.yaml:5:9: error: \"within\": bad duration \"10\" (use a number and a unit: 500ms, 5s, 10m, 2h, 7d)"},
    {"zero within", HEAD "pattern:\n  - name: a\nwithin: 0s\n",
     "r.yaml:5:9: error: \"within\" must be at least 1ms, got 0s"},
    {"bad within_type", HEAD "pattern:\n  - name: a\nwithin: 1m\nwithin_type: first\n",
     "r.yaml:6:14: error: \"within_type\" must be first_and_last or previous_and_current, got \"first\""},
    {"skip to unknown stage", HEAD "pattern:\n  - name: small\n  - name: big\nskip: to_first smal\n",
     "r.yaml:6:16: error: unknown stage \"smal\" in skip (did you mean \"small\"?)"},
    {"skip without stage", HEAD "pattern:\n  - name: a\nskip: to_last\n",
     "r.yaml:5:7: error: \"skip: to_last\" needs a stage name: to_last STAGE"},
    {"skip unknown strategy", HEAD "pattern:\n  - name: a\nskip: past_last\n",
     "r.yaml:5:7: error: \"skip\" must be no_skip, to_next, past_last_event, to_first STAGE or to_last STAGE, "
     "got \"past_last\""},
    {"within on a window rule", HEAD "window: {type: tumbling, size: 1m}\naggregate: {n: count()}\nwithin: 1m\n",
     "r.yaml:5:1: error: \"within\" applies only to pattern rules"},
    {"grace on a pattern rule", HEAD "pattern:\n  - name: a\ngrace: 1m\n",
     "r.yaml:5:1: error: \"grace\" applies only to window rules"},
    {"window without type", HEAD "window: {size: 1m}\naggregate: {n: count()}\n",
     "r.yaml:3:9: error: window is missing required key \"type\""},
    {"unknown window type", HEAD "window: {type: tumbeling, size: 1m}\naggregate: {n: count()}\n",
     "r.yaml:3:16: error: \"type\" must be tumbling, hopping, sliding, session or count, got \"tumbeling\" "
     "(did you mean \"tumbling\"?)"},
    {"window without size", HEAD "window: {type: tumbling}\naggregate: {n: count()}\n",
     "r.yaml:3:9: error: a tumbling window needs \"size\""},
    {"hopping advance above size", HEAD "window: {type: hopping, size: 5m, advance: 10m}\n"
                                        "aggregate: {n: count()}\n",
     "r.yaml:3:44: error: \"advance\" (10m) must not exceed \"size\" (5m): events between windows would be skipped"},
    {"hopping advance zero", HEAD "window: {type: hopping, size: 5m, advance: 0ms}\naggregate: {n: count()}\n",
     "r.yaml:3:44: error: \"advance\" must be at least 1ms, got 0ms"},
    {"key of another window type", HEAD "window: {type: tumbling, size: 5m, gap: 1m}\naggregate: {n: count()}\n",
     "r.yaml:3:36: error: \"gap\" does not apply to a tumbling window (it takes size)"},
    {"count window slide above size", HEAD "window: {type: count, size: 5, slide: 6}\naggregate: {n: count()}\n",
     "r.yaml:3:39: error: \"slide\" (6) must not exceed \"size\" (5)"},
    {"unknown aggregate function", HEAD "window: {type: tumbling, size: 1m}\naggregate:\n  t: avgg(value)\n",
     "r.yaml:5:6: error: unknown aggregate function \"avgg\" (did you mean \"avg\"?)"},
    {"aggregate without argument", HEAD "window: {type: tumbling, size: 1m}\naggregate:\n  t: sum()\n",
     "r.yaml:5:6: error: sum() needs an argument: sum(expression)"},
    {"aggregate not a call", HEAD "window: {type: tumbling, size: 1m}\naggregate:\n  t: value\n",
     "r.yaml:5:6: error: aggregate \"t\" must be a call such as avg(value) or count(), got \"value\""},
    {"having names an unknown aggregate", HEAD "window: {type: tumbling, size: 1m}\naggregate:\n  n: count()\n"
                                              "having: n > 3 && avg_t > 90\n",
     "r.yaml:6:18: error: unknown aggregate \"avg_t\""},
    {"bad emit_when", HEAD "window: {type: tumbling, size: 1m}\naggregate: {n: count()}\nemit_when: on_closed\n",
     "r.yaml:5:12: error: \"emit_when\" must be on_close or on_update, got \"on_closed\" (did you mean "
     "\"on_close\"?)"},
    {"bad grace", HEAD "window: {type: tumbling, size: 1m}\naggregate: {n: count()}\ngrace: soon\n",
     "r.yaml:5:8: error: \"grace\": bad duration \"soon\" (use a number and a unit: 500ms, 5s, 10m, 2h, 7d)"},
    {"emit unknown key", HEAD "pattern:\n  - name: a\nemit: {topik: x}\n",
     "r.yaml:5:8: error: unknown key \"topik\" (did you mean \"topic\"?)"},
    {"emit qos", HEAD "pattern:\n  - name: a\nemit: {qos: 3}\n",
     "r.yaml:5:13: error: \"qos\" must be between 0 and 2, got 3"},
    {"emit throttle", HEAD "pattern:\n  - name: a\nemit: {throttle: 5 min}\n",
     "r.yaml:5:18: error: \"throttle\": bad duration \"5 min\" (use a number and a unit: 500ms, 5s, 10m, 2h, 7d)"},
    {"timeouts on a window rule", HEAD "window: {type: tumbling, size: 1m}\naggregate: {n: count()}\n"
                                       "emit: {timeouts: true}\n",
     "r.yaml:5:8: error: \"timeouts\" applies only to pattern rules"},
    {"emit topic with a wildcard", HEAD "pattern:\n  - name: a\nemit: {topic: alerts/+/x}\n",
     "r.yaml:5:15: error: bad topic \"alerts/+/x\": a topic to publish to cannot hold the wildcards + or #"},
    {"emit topic with an unknown placeholder", HEAD "pattern:\n  - name: a\nemit: {topic: \"a/{rules}\"}\n",
     "r.yaml:5:16: error: bad topic \"a/{rules}\": unknown placeholder \"{rules}\" (use {rule}, {key}, {severity} "
     "or {kind})"},
    {"late_topic with a wildcard", HEAD "pattern:\n  - name: a\nlate_topic: late/#\n",
     "r.yaml:5:13: error: bad late_topic \"late/#\": a topic to publish to cannot hold the wildcards + or #"},
    {"empty value", HEAD "pattern:\n  - name: a\nlate_topic:\n\n# a comment\nemit: {}\n",
     "r.yaml:5:12: error: \"late_topic\" must be a string, got nothing"},
    {"empty value followed by a comment", HEAD "pattern:\n  - name:   # to do\n",
     "r.yaml:4:10: error: \"name\" must be a string, got nothing"},
    {"explicit null", HEAD "pattern:\n  - name: ~\n", "r.yaml:4:11: error: \"name\" must be a string, got nothing"},
    {"payload not a map", HEAD "pattern:\n  - name: a\nemit:\n  payload: [a, b]\n",
     "r.yaml:6:12: error: \"payload\" must be a map of name: expression, got a list"},
    {"bad state_on_change", HEAD "pattern:\n  - name: a\nstate_on_change: kep\n",
     "r.yaml:5:18: error: \"state_on_change\" must be reset or keep, got \"kep\" (did you mean \"keep\"?)"},
    {"max_keys zero", HEAD "pattern:\n  - name: a\nmax_keys: 0\n",
     "r.yaml:5:11: error: \"max_keys\" must be between 1 and 100000000, got 0"},
    {"bad key path", HEAD "key: \"items[x]\"\npattern:\n  - name: a\n",
     "r.yaml:3:7: error: bad key \"items[x]\": array index must be a non-negative number"},
    {"lua not text", HEAD "lua: [1, 2]\n", "r.yaml:3:6: error: \"lua\" must be Lua source text (use a block: "
                                          "lua: |), got a list"},
    {"expression error inside a block scalar", HEAD "pattern:\n  - name: a\n    where: |\n      amount >\n",
     "r.yaml:6:15: error: expected an expression after \">\""},
    {"stage where refers to an unknown stage", HEAD "pattern:\n  - name: small\n  - name: big\n"
                                                    "    where: amount > smal[0].amount\n",
     "r.yaml:6:21: error: unknown stage \"smal\" (did you mean \"small\"?)"},
    {"quoted expression position", HEAD "where: \"amount >> 1\"\npattern:\n  - name: a\n",
     "r.yaml:3:17: error: expected an expression after \">\""},
    {"duplicate rule id", "- rule: r1\n  stream: sensors\n  pattern: [{name: a}]\n"
                          "- rule: r1\n  stream: sensors\n  pattern: [{name: a}]\n",
     "r.yaml:4:9: error: duplicate rule id \"r1\" (first defined at line 1)"},
    {"rule file of the wrong shape", "just a string\n",
     "r.yaml:1:1: error: a rule file holds a rule (a map with \"rule:\"), a list of rules, or \"rules:\" and "
     "\"tests:\"; got \"just a string\""},
    {"rules: not a list", "rules: {rule: r1}\n", "r.yaml:1:8: error: \"rules\" must be a list of rules, got a map"},
    {"YAML syntax error", "rule: r1\npattern: [\n", "r.yaml:3:1: error: YAML syntax: end of sequence flow not found"},
};

}  // namespace

TEST_CASE("loader: each bad rule gives exactly one error at the right line:col") {
    for (const Case& c : kCases) {
        SUBCASE(c.name) {
            auto l = load(c.yaml);
            CHECK(l.errors() == std::string(c.error) + "\n");
            CHECK(l.rules.rules == nullptr);
        }
    }
}

TEST_CASE("loader: every problem of a file is reported in one pass") {
    auto l = load(HEAD "wher: x\nseverity: hihg\npattern:\n  - name: a\n    times: 0\nwithin: 10\n");
    CHECK(l.diags.error_count() == 4);
    CHECK(l.errors().find("r.yaml:3:1:") != std::string::npos);
    CHECK(l.errors().find("r.yaml:4:11:") != std::string::npos);
    CHECK(l.errors().find("r.yaml:7:12:") != std::string::npos);
    CHECK(l.errors().find("r.yaml:8:9:") != std::string::npos);
}

TEST_CASE("loader: stream is optional when no streams are configured") {
    auto l = load("rule: r1\npattern:\n  - name: a\n", {});
    CHECK(l.errors() == "");
    CHECK(l.rule().stream == "");
}

TEST_CASE("loader: warnings for suspicious but valid rules") {
    SUBCASE("hopping advance equal to size") {
        auto l = load(HEAD "window: {type: hopping, size: 5m, advance: 5m}\naggregate: {n: count()}\n");
        CHECK(l.errors() == "");
        CHECK(l.warnings() == "r.yaml:3:44: warning: a hopping window with advance equal to size is a tumbling "
                              "window\n");
    }
    SUBCASE("window without aggregate") {
        auto l = load(HEAD "window: {type: tumbling, size: 5m}\n");
        CHECK(l.errors() == "");
        CHECK(l.warnings() == "r.yaml:3:1: warning: window rule without \"aggregate\": its results carry no "
                              "values\n");
    }
    SUBCASE("an unbounded loop without within") {
        auto l = load(HEAD "pattern:\n  - name: a\n    times: 2+\n  - name: b\n");
        CHECK(l.errors() == "");
        CHECK(l.warnings() == "r.yaml:4:11: warning: stage \"a\" repeats without bound and the pattern has no "
                              "\"within\": partial matches are only dropped at max_partial_matches\n");
        CHECK(load(HEAD "pattern:\n  - name: a\n    times: 2+\n  - name: b\nwithin: 1h\n").warnings() == "");
    }
    SUBCASE("contiguity on the first stage") {
        auto l = load(HEAD "pattern:\n  - name: a\n    contiguity: strict\n");
        CHECK(l.errors() == "");
        CHECK(l.warnings() == "r.yaml:5:5: warning: \"contiguity\" of the first stage has no effect\n");
    }
}

TEST_CASE("loader: Lua problems are reported at their line in the rule file") {
    SUBCASE("syntax error") {
        auto l = load(HEAD "lua: |\n  function on_event(ev, state, ctx)\n    if ev.x then\n  end\n");
        CHECK(l.diags.error_count() == 1);
        CHECK(l.errors().find("r.yaml:") == 0);
        CHECK(l.errors().find("error: lua:") != std::string::npos);
    }
    SUBCASE("a whole-rule Lua body without on_event") {
        auto l = load(HEAD "lua: |\n  function other() end\n");
        CHECK(l.errors() == "r.yaml:3:1: error: a Lua rule needs a function on_event(ev, state, ctx)\n");
    }
    SUBCASE("lua.NAME must be defined") {
        auto l = load(HEAD "lua: |\n  function big(x) return x > 100 end\nwhere: lua.bigg(amount)\n"
                           "pattern:\n  - name: a\n");
        CHECK(l.diags.error_count() == 1);
        CHECK(l.errors().find("r.yaml:5:12: error: unknown Lua function \"bigg\"") == 0);
    }
    SUBCASE("lua.NAME in a window aggregate and having") {
        auto l = load(HEAD "lua: |\n  function f(x) return x * 2 end\nwindow: {type: tumbling, size: 1m}\n"
                           "aggregate: {s: sum(lua.f(v))}\nhaving: lua.f(s) > 3\n");
        CHECK(l.errors() == "");
        REQUIRE(l.rules.rules);
        CHECK(l.rule().lua != nullptr);
    }
}
