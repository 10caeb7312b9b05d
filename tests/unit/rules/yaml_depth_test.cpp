// The YAML nesting pre-check (rules/yaml_depth.h): yaml-cpp 0.7 overflows its stack
// on very deep nesting, so such text is refused with a position before it parses.
#include <doctest/doctest.h>

#include <string>

#include "loader_test_util.h"
#include "rules/yaml_depth.h"

using namespace vigil;
using namespace vigil::test;

namespace {

int depth_error_line(const std::string& text, int max = kMaxYamlDepth) {
    YamlDepthError e;
    return check_yaml_depth(text, max, e) ? 0 : e.line;
}

std::string repeat(const std::string& s, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out += s;
    return out;
}

}  // namespace

TEST_CASE("yaml depth: 100k open brackets are refused at the 64th level, before yaml-cpp sees them") {
    auto l = load("rule: r\nstream: sensors\ntags: " + repeat("[", 100000) + "\n");
    CHECK(l.errors() == "r.yaml:3:69: error: YAML nesting deeper than 64 levels\n");
}

TEST_CASE("yaml depth: deep block sequences and maps, on one line or by indentation, are refused") {
    CHECK(load(repeat("- ", 50000) + "x\n").errors() == "r.yaml:1:127: error: YAML nesting deeper than 64 levels\n");
    std::string indented;
    for (int i = 0; i < 5000; ++i) indented += std::string(static_cast<size_t>(i), ' ') + "k:\n";
    CHECK(load(indented).errors() == "r.yaml:64:65: error: YAML nesting deeper than 64 levels\n");
    CHECK(depth_error_line(repeat("? ", 1000) + "x\n") == 1);
    CHECK(depth_error_line("a: " + repeat("{b: ", 1000) + "\n") == 1);
}

TEST_CASE("yaml depth: flow collections that span lines keep their depth, anchors and tags do not hide it") {
    std::string lines;
    for (int i = 0; i < 100; ++i) lines += "[\n";
    CHECK(depth_error_line("a: " + lines) == 63);
    CHECK(depth_error_line("a: " + repeat("&x !t [", 100) + "\n") == 1);
    CHECK(depth_error_line("a: " + repeat("[", 60) + repeat("]", 60) + "\nb: " + repeat("[", 60) + "\n") == 0);
}

TEST_CASE("yaml depth: brackets in quoted, plain and block scalars and in comments do not count") {
    CHECK(depth_error_line("a: '" + repeat("[", 500) + "'\n") == 0);
    CHECK(depth_error_line("a: \"" + repeat("{", 500) + "\\\"\"\n") == 0);
    CHECK(depth_error_line("where: x in " + repeat("[", 500) + "\n") == 0);  // a plain scalar
    CHECK(depth_error_line("a: 1  # " + repeat("[", 500) + "\n") == 0);
    CHECK(depth_error_line("lua: |\n  local t = " + repeat("{", 500) + "\n  x = 1\nb: 2\n") == 0);
    // A flow collection after a block scalar's end counts again.
    CHECK(depth_error_line("lua: |\n  x\nb: " + repeat("[", 100) + "\n") == 3);
}

TEST_CASE("yaml depth: real rules pass, with the limit far away") {
    const char* rule = R"(rule: card-testing
stream: transactions
key: card_id
where: amount > 0 && country in ["FR", "DE"]
pattern:
  - name: small
    where: amount < 2
    times: 3+
    inner: strict
  - name: big
    where: amount > 500 && small[-1].merchant != merchant
within: 10m
emit:
  payload: {n: count(small), last: "small[-1].amount", tags: [a, [b, {c: d}]]}
tests:
  - name: t
    events:
      - {card_id: c1, amount: 1, ts: 0, extra: {deep: {deeper: [1, [2, [3]]]}}}
    expect: []
)";
    CHECK(depth_error_line(rule, 12) == 0);
    CHECK(load(rule).errors().find("nesting") == std::string::npos);
}
