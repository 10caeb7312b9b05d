// Compile errors: every message and its exact position. The expression starts at
// r.yaml line 3, column 10, so a problem at byte offset k is reported at 3:(10+k).
#include "expr_test_util.h"
#include "rules/lua_host.h"

namespace vigil::test {

namespace {

ExprScope pattern(int self) {
    ExprScope s;
    s.stages = {"first", "small", "big"};
    s.self_stage = self;
    return s;
}

ExprScope window() {
    ExprScope s;
    s.vars = {"avg_t", "n"};
    s.has_event = false;
    return s;
}

class OneFunctionLua : public LuaProgram {
public:
    bool has_function(std::string_view name) const override { return name == "score"; }
    Value call(std::string_view, const Value*, size_t, std::string&) override { return Value::missing(); }
};

struct Case {
    const char* text;
    const char* error;  // "line:col: message"
};

}  // namespace

TEST_CASE("expr: syntax errors name the token and its column") {
    const Case cases[] = {
        {"a > )", "3:14: expected an expression after \">\""},
        {"a &&", "3:14: expected an expression after \"&&\""},
        {"a or", "3:14: expected an expression after \"or\""},
        {"1 +", "3:13: expected an expression after \"+\""},
        {"a +* b", "3:13: expected an expression after \"+\""},
        {"!", "3:11: expected an expression after \"!\""},
        {"not", "3:13: expected an expression after \"not\""},
        {")", "3:10: unexpected \")\""},
        {"a > 1)", "3:15: unexpected \")\""},
        {"(a > 1", "3:16: expected \")\" to close the \"(\" at column 10"},
        {"((((a)))", "3:18: expected \")\" to close the \"(\" at column 10"},
        {"a b", "3:12: unexpected \"b\" (missing an operator before it?)"},
        {"1 2", "3:12: unexpected \"2\" (missing an operator before it?)"},
        {"\"abc", "3:10: unterminated string"},
        {"x == 'abc", "3:15: unterminated string"},
        {"\"\\q\"", "3:11: unknown escape \"\\q\" in string"},
        {"a = 1", "3:12: unexpected \"=\" (did you mean \"==\"?)"},
        {"a & b", "3:12: unexpected \"&\" (did you mean \"&&\"?)"},
        {"a | b", "3:12: unexpected \"|\" (did you mean \"||\"?)"},
        {"a # b", "3:12: unexpected \"#\""},
        {"a.", "3:12: expected a field name after \".\""},
        {"a..b", "3:12: expected a field name after \".\""},
        {"a[b]", "3:12: an index must be an integer or a string literal, like items[0], items[-1] or a[\"odd key\"]"},
        {"items[1.5]", "3:16: an index must be an integer or a string literal, like items[0], items[-1] or a[\"odd key\"]"},
        {"", "3:10: empty expression"},
        {"   ", "3:10: empty expression"},
        {"x ? 1", "3:15: expected \":\" (the \"?\" at column 12 needs \"then : else\")"},
        {"f(a,)", "3:14: expected an expression after \",\""},
        {"a in [1,", "3:18: expected a list element"},
        {"5min > 1", "3:10: invalid number \"5min\" (durations are written 500ms, 5s, 10m, 2h, 7d)"},
        {"$ > 1", "3:10: expected a name after \"$\", like $time"},
        {"x matches y", "3:20: \"matches\" needs a regex string literal, like matches \"^ab+c\""},
        {"a > 1 and", "3:19: expected an expression after \"and\""},
        {"a in", "3:14: expected a list after \"in\", like in [\"a\", \"b\"]"},
        {"items[5m]", "3:16: an index must be an integer or a string literal, like items[0], items[-1] or a[\"odd key\"]"},
        {"x > 99999999999999999m", "3:14: duration \"99999999999999999m\" is too large"},
        {"-222222222222d * 5", "3:11: duration \"222222222222d\" is too large"},  // found by fuzzing
        {"x > 1000000000w", "compiled"},
    };
    for (const auto& c : cases) CHECK_MESSAGE(error_of(c.text) == c.error, c.text);
}

TEST_CASE("expr: name, function and type errors") {
    const Case cases[] = {
        {"lenn(x) > 1", "3:10: unknown function \"lenn\" (did you mean \"len\"?)"},
        {"x > 1 && uper(y) == \"A\"", "3:19: unknown function \"uper\" (did you mean \"upper\"?)"},
        {"frobnicate(x)", "3:10: unknown function \"frobnicate\""},
        {"x matches \"([\"", "3:20: invalid regex: Unexpected character within '[...]' in regular expression"},
        {"x matches \"(a)\\\\1\"", "3:20: invalid regex: back-references (\\1) are not supported"},
        // found by fuzzing: libstdc++ reads a repetition count into a long without a bound
        {"x matches \"a{99999999999999999999}\"", "3:20: invalid regex: a repetition count above 1000 (at offset 1)"},
        {"x matches \"(ab){2,1001}\"", "3:20: invalid regex: a repetition count above 1000 (at offset 4)"},
        {"x matches \"a{1000}b{2,}[{99999]\\\\{99999}\"", "compiled"},
        // found by the fuzz smoke: libstdc++ copies a repeated part per count, so nested counts multiply
        {"x matches \"((a{1000}){1000}){1000}\"",
         "3:20: invalid regex: nested repetitions that expand to more than 20000 states (at offset 15)"},
        {"x matches \"(a{200}){200}\"",
         "3:20: invalid regex: nested repetitions that expand to more than 20000 states (at offset 12)"},
        {"x matches \"(a{100}|b){100}\"", "compiled"},
        {"\"abc\" > 5", "3:16: cannot compare a string with a number"},
        {"a == true == 1", "3:20: cannot compare a bool with a number"},
        {"true > false", "3:15: \">\" cannot order a bool (only numbers and strings)"},
        {"null < 1", "3:15: \"<\" cannot order null (only numbers and strings)"},
        {"len(5)", "3:14: len() needs a string, array or object, not a number"},
        {"lower(3)", "3:16: lower() needs a string, not a number"},
        {"abs(\"x\")", "3:14: abs() needs a number, not a string"},
        {"starts_with(name, 1)", "3:28: starts_with() needs a string, not a number"},
        {"contains(3, \"a\")", "3:19: contains() needs a string or an array, not a number"},
        {"\"a\" * 2", "3:14: \"*\" needs numbers, not a string"},
        {"x + \"a\" - 1", "3:18: \"-\" needs numbers, not a string"},
        {"1 + \"a\"", "3:12: \"+\" needs two numbers or two strings, not a number and a string"},
        {"-\"a\"", "3:10: \"-\" needs a number, not a string"},
        {"x in 5", "3:15: \"in\" needs a list or an array field, not a number"},
        {"x in [1, \"a\"] && 2 in [\"b\"]", "3:33: cannot compare a number with a string"},
        {"abs(1, 2)", "3:10: abs() takes 1 argument, got 2"},
        {"len()", "3:10: len() takes 1 argument, got 0"},
        {"$tim > 1", "3:10: unknown metadata \"$tim\" (did you mean \"$time\"?)"},
        {"$key.x", "3:14: a string has no fields"},
        {"sum(x) > 1", "3:10: sum() works over the events of a pattern stage, like sum(small.amount); a window "
                       "computes its aggregates in aggregate:"},
        {"min(1)", "3:10: min() works over the events of a pattern stage, like min(small.amount); a window "
                   "computes its aggregates in aggregate:"},
        {"lua.score(a) > 1", "3:10: rule has no lua: block (lua.score needs a function defined in the rule's lua:)"},
    };
    for (const auto& c : cases) CHECK_MESSAGE(error_of(c.text) == c.error, c.text);
}

TEST_CASE("expr: scope errors") {
    const Case in_pattern[] = {
        {"bigg[0].amount > 1", "3:10: unknown stage \"bigg\" (did you mean \"big\"?)"},
        {"amount > small[0].amount + bigg[-1].amount", "3:37: unknown stage \"bigg\" (did you mean \"big\"?)"},
        {"big.amount > 1", "3:10: stage \"big\" comes after stage \"small\": a condition can only use its own and "
                           "earlier stages"},
        {"sum(smal.amount) < 100", "3:14: unknown stage \"smal\" (did you mean \"small\"?)"},
        {"count(small[0])", "3:16: count() takes a stage field, like count(small)"},
        {"sum(small) > 1", "3:14: sum() needs a field of the stage, like sum(small.amount)"},
        {"avg(small.amount, 2) > 1", "3:10: avg() takes one stage field, like avg(small.amount)"},
        {"small.$color > 1", "3:16: unknown stage metadata \"$color\" (a stage has $time, $key, $topic, $partition, "
                             "$offset)"},
        {"small[x].amount", "3:16: an index must be an integer or a string literal, like items[0], items[-1] or "
                            "a[\"odd key\"]"},
    };
    for (const auto& c : in_pattern) CHECK_MESSAGE(error_of(c.text, pattern(1)) == c.error, c.text);

    CHECK(error_of("avgt > 90", window()) == "3:10: unknown aggregate \"avgt\" (did you mean \"avg_t\"?)");
    CHECK(error_of("n > 1 && temp > 2", window()) == "3:19: unknown aggregate \"temp\"");

    OneFunctionLua lua;
    ExprScope with_lua;
    with_lua.lua = &lua;
    CHECK(error_of("lua.scor(a)", with_lua) == "3:14: unknown Lua function \"scor\" (not defined in the rule's lua: block)");
    CHECK(error_of("lua.score(a) > 1", with_lua) == "compiled");
    CHECK(error_of("lua.score(1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17)", with_lua) ==
          "3:10: lua.score() takes at most 16 arguments");
}

TEST_CASE("expr: a field that looks like a stage is a warning, not an error") {
    Compiled c = compile("bigg.amount > 1", pattern(2));
    CHECK(c.expr);
    REQUIRE(c.diags.items().size() == 1);
    CHECK(c.diags.items()[0].severity == Diagnostic::Severity::Warning);
    CHECK(c.diags.items()[0].to_string() ==
          "r.yaml:3:10: warning: \"bigg\" is read as a field of the current event, not a stage (did you mean "
          "\"big\"?)");
    CHECK(compile("items[0] > 1", pattern(2)).diags.items().empty());  // not close to a stage name
}

TEST_CASE("expr: every semantic error is reported, not only the first") {
    Compiled c = compile("lenn(a) > 1 && \"x\" > 2 && $tme == 1");
    CHECK_FALSE(c.expr);
    CHECK(c.diags.error_count() == 3);
    CHECK(c.errors() ==
          "r.yaml:3:10: error: unknown function \"lenn\" (did you mean \"len\"?)\n"
          "r.yaml:3:29: error: cannot compare a string with a number\n"
          "r.yaml:3:36: error: unknown metadata \"$tme\" (did you mean \"$time\"?)\n");
}

TEST_CASE("expr: positions inside multi-line expressions") {
    // A YAML block scalar: every line starts at the column of the first.
    Compiled c = compile("a > 1 &&\nb < 2 &&\nlenn(c)", {}, {"r.yaml", 7, 5});
    REQUIRE_FALSE(c.expr);
    CHECK(c.errors() == "r.yaml:9:5: error: unknown function \"lenn\" (did you mean \"len\"?)\n");
    Compiled d = compile("(a >\n   1", {}, {"r.yaml", 7, 5});
    CHECK(d.errors() == "r.yaml:8:9: error: expected \")\" to close the \"(\" at line 7, column 5\n");
    Compiled e = compile("x", {}, {"", 0, 0});  // unknown position: still compiles
    CHECK(e.expr);
    Compiled f = compile("x >", {}, {"", 0, 0});
    CHECK(f.errors() == "<input>: error: expected an expression after \">\"\n");
}

TEST_CASE("expr: nesting is bounded") {
    std::string deep(500, '(');
    deep += "1";
    deep += std::string(500, ')');
    CHECK(error_of(deep).find("expression is nested too deeply") != std::string::npos);
    std::string chain = "x";
    for (int i = 0; i < 500; ++i) chain += " + x";
    CHECK(error_of(chain).find("expression is nested too deeply") != std::string::npos);
    std::string bangs(500, '!');
    CHECK(error_of(bangs + "x").find("expression is nested too deeply") != std::string::npos);
    std::string ok = "x";
    for (int i = 0; i < 100; ++i) ok += " + x";
    CHECK(error_of(ok) == "compiled");
}

}  // namespace vigil::test
