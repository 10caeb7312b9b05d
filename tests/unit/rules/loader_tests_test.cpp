// `tests:` cases -> RuleTestCase (SPEC 5).
#include <doctest/doctest.h>

#include "loader_test_util.h"

using namespace vigil;
using vigil::test::load;

namespace {
const char* kRule = R"(rule: card-testing
stream: transactions
key: card_id
pattern:
  - name: small
    where: amount < 2.00
    times: 3+
  - name: big
    where: amount > 500
within: 10m
)";
}  // namespace

TEST_CASE("tests: events, watermarks and expectations") {
    auto l = load(std::string(kRule) + R"(tests:
  - name: three small then one big
    rules: [card-testing]
    stream: transactions
    events:
      - {card_id: c1, amount: 1.00, merchant: m1, timestamp: "2026-01-01T00:00:00Z"}
      - {card_id: "007", n: 007, big: 12345678901234567890, ok: true, none: null, tilde: ~, s: 'yes', f: -1.5e3}
      - {$watermark: "2026-01-01T00:10:00Z"}
      - {$watermark: 1767225600000}
      - nested: {list: [1, two, {x: false}]}
    expect:
      - {rule: card-testing, key: c1, kind: match, events: {small: [0, 1], big: [2]}}
      - rule: card-testing
        window: {start: "2026-01-01T00:00:00Z", end: 1767225660000}
        values: {n: 3, avg: 1.5}
        payload: {total: "x"}
)");
    REQUIRE(l.errors() == "");
    REQUIRE(l.rules.tests.size() == 1);
    const RuleTestCase& t = l.rules.tests[0];
    CHECK(t.name == "three small then one big");
    CHECK(t.file == "r.yaml");
    CHECK(t.pos.line == 12);
    CHECK(t.rules == std::vector<std::string>{"card-testing"});
    CHECK(t.stream == "transactions");
    REQUIRE(t.events.size() == 5);
    CHECK(t.events[0].json ==
          R"({"card_id":"c1","amount":1,"merchant":"m1","timestamp":"2026-01-01T00:00:00Z"})");
    CHECK(t.events[0].pos.line == 16);
    CHECK(t.events[1].json == R"({"card_id":"007","n":7,"big":12345678901234567890,"ok":true,"none":null,)"
                              R"("tilde":null,"s":"yes","f":-1500})");
    CHECK(t.events[2].is_watermark);
    CHECK(t.events[2].watermark == 1767226200000);
    CHECK(t.events[3].is_watermark);
    CHECK(t.events[3].watermark == 1767225600000);
    CHECK(t.events[4].json == R"({"nested":{"list":[1,"two",{"x":false}]}})");
    CHECK(t.expect_given);
    REQUIRE(t.expect.size() == 2);
    const auto& e0 = t.expect[0];
    CHECK(e0.rule == "card-testing");
    CHECK(e0.key == "c1");
    CHECK(e0.kind == "match");
    REQUIRE(e0.events.size() == 2);
    CHECK(e0.events[0].first == "small");
    CHECK(e0.events[0].second == std::vector<size_t>{0, 1});
    CHECK(e0.events[1].second == std::vector<size_t>{2});
    CHECK(!e0.has_window);
    const auto& e1 = t.expect[1];
    CHECK(e1.has_window);
    CHECK(e1.window_start == 1767225600000);
    CHECK(e1.window_end == 1767225660000);
    CHECK(e1.values_json == R"({"n":3,"avg":1.5})");
    CHECK(e1.payload_json == R"({"total":"x"})");
    CHECK(e1.pos.line == 23);
}

TEST_CASE("tests: expect: [] asserts no alert") {
    auto l = load(std::string(kRule) + "tests:\n  - {name: quiet, events: [{card_id: c1}], expect: []}\n");
    REQUIRE(l.errors() == "");
    CHECK(l.rules.tests[0].expect_given);
    CHECK(l.rules.tests[0].expect.empty());
    CHECK(l.rules.tests[0].rules.empty());
}

TEST_CASE("tests: problems in test cases") {
    auto err = [](const std::string& tests) { return load(std::string(kRule) + tests).errors(); };
    CHECK(err("tests:\n  - {name: t}\n") ==
          "r.yaml:12:5: error: test \"t\" needs \"expect\" (expect: [] for no alert) or \"expect_error\"\n");
    CHECK(err("tests:\n  - {name: t, expect: [], exepct: []}\n") ==
          "r.yaml:12:27: error: unknown key \"exepct\" (did you mean \"expect\"?)\n");
    CHECK(err("tests:\n  - {name: t, rules: [card-test], expect: []}\n") ==
          "r.yaml:12:5: error: test \"t\": \"rules\" names unknown rule \"card-test\" (did you mean "
          "\"card-testing\"?)\n");
    CHECK(err("tests:\n  - name: t\n    events: [{a: 1}]\n    expect: [{rule: card-testing, events: {smal: [0]}}]\n") ==
          "r.yaml:14:14: error: test \"t\": rule \"card-testing\" has no stage \"smal\"\n");
    CHECK(err("tests:\n  - name: t\n    events: [{a: 1}]\n    expect: [{rule: card-testing, events: {small: [1]}}]\n") ==
          "r.yaml:14:14: error: test \"t\": event index 1 is out of range (the test has 1 events)\n");
    CHECK(err("tests:\n  - name: t\n    events: [{$watermark: soon}]\n    expect: []\n") ==
          "r.yaml:13:27: error: \"$watermark\" must be a time (epoch ms or RFC 3339), got \"soon\"\n");
    CHECK(err("tests:\n  - name: t\n    events: [3]\n    expect: []\n") ==
          "r.yaml:13:14: error: a test event must be a map, got \"3\"\n");
    CHECK(err("tests:\n  - name: t\n    expect: [{rule: card-testing, kind: matched}]\n") ==
          "r.yaml:13:41: error: \"kind\" must be match, timeout, window or lua, got \"matched\" (did you mean "
          "\"match\"?)\n");
    CHECK(err("tests:\n  - name: t\n    expect: [{key: c1}]\n") ==
          "r.yaml:13:14: error: expectation is missing required key \"rule\"\n");
    CHECK(err("tests: {name: t}\n") == "r.yaml:11:8: error: \"tests\" must be a list of test cases, got a map\n");
}

TEST_CASE("tests: expect_error with inline rules keeps their positions") {
    std::string yaml = R"Y(tests:
  - name: typo in a key is reported
    rules:
      - rule: broken
        stream: transactions
        pattern:
          - name: a
            tims: 3
    expect_error: "8:13: error: unknown key \"tims\" (did you mean \"times\"?)"
  - name: another
    events: []
    expect: []
)Y";
    auto l = load(yaml, test::two_streams(), "bad.test.yaml");
    REQUIRE(l.errors() == "");
    REQUIRE(l.rules.tests.size() == 2);
    const RuleTestCase& t = l.rules.tests[0];
    CHECK(t.rules.empty());
    CHECK(t.expect_error == "8:13: error: unknown key \"tims\" (did you mean \"times\"?)");
    REQUIRE(!t.rules_yaml.empty());
    // Compiling the inline rules gives the error at its place in the original file.
    Diagnostics d;
    auto inner = load_rules_text(t.rules_yaml, "bad.test.yaml", test::two_streams(), d);
    CHECK(inner.rules == nullptr);
    CHECK(d.to_string() == "bad.test.yaml:8:13: error: unknown key \"tims\" (did you mean \"times\"?)\n");
    CHECK(d.to_string().find(t.expect_error) != std::string::npos);
}

TEST_CASE("tests: expect_error about the file's own rules") {
    std::string yaml = R"(rule: broken
stream: transactions
pattern:
  - name: a
    times: 0
tests:
  - name: zero times is refused
    expect_error: "5:12: error: \"times\" must be at least 1"
)";
    auto l = load(yaml);
    // The file is an error fixture: its rules are not loaded, the test carries them.
    CHECK(l.errors() == "");
    REQUIRE(l.rules.rules);
    CHECK(l.rules.rules->rules.empty());
    REQUIRE(l.rules.tests.size() == 1);
    const RuleTestCase& t = l.rules.tests[0];
    Diagnostics d;
    load_rules_text(t.rules_yaml, "r.yaml", test::two_streams(), d);
    CHECK(d.to_string() ==
          "r.yaml:5:12: error: \"times\" must be at least 1 (use optional: true to allow zero), got 0\n");
    CHECK(d.to_string().find(t.expect_error) != std::string::npos);
}

TEST_CASE("tests: inline rules in flow style") {
    std::string yaml = "tests:\n"
                       "  - {name: t, rules: [{rule: a, stream: sensors, pattern: [{name: x, times: 0}]}], "
                       "expect_error: \"must be at least 1\"}\n";
    auto l = load(yaml);
    REQUIRE(l.errors() == "");
    REQUIRE(l.rules.tests.size() == 1);
    Diagnostics d;
    load_rules_text(l.rules.tests[0].rules_yaml, "r.yaml", test::two_streams(), d);
    CHECK(d.to_string() ==
          "r.yaml:2:77: error: \"times\" must be at least 1 (use optional: true to allow zero), got 0\n");
}

TEST_CASE("tests: tables inline in a case, as rows by key") {
    auto l = load(std::string(kRule) + R"(tests:
  - name: with tables
    tables:
      devices:
        pump-1: {model: X200, rated_temp: 80}
        "17": {model: "007"}
      cards:
        c1: {home: DE}
    events: []
    expect: []
)");
    REQUIRE_MESSAGE(l.errors().empty(), l.errors());
    REQUIRE(l.rules.tests.size() == 1);
    const auto& rows = l.rules.tests[0].tables;
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].table == "devices");
    CHECK(rows[0].key == "pump-1");
    CHECK(rows[0].json == R"({"model":"X200","rated_temp":80})");
    CHECK(rows[1].key == "17");
    CHECK(rows[1].json == R"({"model":"007"})");
    CHECK(rows[2].table == "cards");
}

TEST_CASE("tests: a bad tables: in a case is reported where it is") {
    auto l = load(std::string(kRule) + R"(tests:
  - name: bad tables
    tables:
      devices: [1, 2]
      cards:
        c1: 5
    expect: []
  - name: not a map
    tables: [devices]
    expect: []
)");
    CHECK(l.errors() == "r.yaml:14:16: error: table \"devices\" must be a map of key: row, got a list\n"
                        "r.yaml:16:13: error: row \"c1\" of table \"cards\" must be a map of field: value, got \"5\"\n"
                        "r.yaml:19:13: error: \"tables\" must be a map of table name: {key: row}, got a list\n");
}

TEST_CASE("rules: table() names are checked against the configured tables") {
    Diagnostics d;
    std::vector<std::string> tables = {"devices"};
    load_rules_text(R"(rule: hot
stream: sensors
where: temp > table("device", device).rated_temp
emit:
  payload:
    limit: table("devices", device).rated_temp
    other: table("cards", device).x
pattern:
  - name: a
)",
                    "r.yaml", test::two_streams(), d, &tables);
    CHECK(d.to_string() == "r.yaml:3:21: error: unknown table \"device\" (did you mean \"devices\"?)\n"
                           "r.yaml:7:18: error: unknown table \"cards\"\n");
}
