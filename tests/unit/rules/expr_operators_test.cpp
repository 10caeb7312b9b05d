// Operators, literals, paths, metadata, precedence and missing-field behaviour.
#include "expr_test_util.h"

namespace vigil::test {

namespace {
const char* kEvent = R"({"temp": 91.5, "n": 7, "zero": 0, "name": "Pump-7", "on": true, "off": false,
  "nil": null, "a": {"b": {"c": 3}}, "odd key": 5, "items": [10, 20, 30],
  "tags": ["x", "y"], "site": {"id": "s1", "odd key": "v"}, "neg": -4.5, "empty": ""})";
}

TEST_CASE("expr: literals and durations") {
    auto ev = event(kEvent);
    CHECK(num("42", ev.get()) == 42);
    CHECK(num("2.50", ev.get()) == 2.5);
    CHECK(num("1e3", ev.get()) == 1000);
    CHECK(num("5m", ev.get()) == 300000);
    CHECK(num("500ms", ev.get()) == 500);
    CHECK(num("2h", ev.get()) == 7200000);
    CHECK(num("1.5s", ev.get()) == 1500);
    CHECK(num("7d", ev.get()) == 7 * 86400000.0);
    CHECK(str("\"a\\\"b\\n\"", ev.get()) == "a\"b\n");
    CHECK(str("'it\\'s'", ev.get()) == "it's");
    CHECK(str("'\\u00e9'", ev.get()) == "\xc3\xa9");
    CHECK(eval("true", ev.get()).boolean);
    CHECK(eval("false", ev.get()).kind == Value::Kind::Bool);
    CHECK(eval("null", ev.get()).kind == Value::Kind::Null);
}

TEST_CASE("expr: field paths") {
    auto ev = event(kEvent);
    CHECK(num("temp", ev.get()) == 91.5);
    CHECK(num("a.b.c", ev.get()) == 3);
    CHECK(num("items[0]", ev.get()) == 10);
    CHECK(num("items[2]", ev.get()) == 30);
    CHECK(num("items[-1]", ev.get()) == 30);
    CHECK(str("site[\"odd key\"]", ev.get()) == "v");
    CHECK(num("$event[\"odd key\"]", ev.get()) == 5);
    CHECK(str("site.id", ev.get()) == "s1");
    CHECK(json("a.b", ev.get()) == R"({"c":3})");
    CHECK(eval("items[3]", ev.get()).kind == Value::Kind::Missing);
    CHECK(eval("items[-4]", ev.get()).kind == Value::Kind::Missing);
    CHECK(eval("a.x.c", ev.get()).kind == Value::Kind::Missing);
    CHECK(eval("temp.x", ev.get()).kind == Value::Kind::Missing);
    CHECK(eval("nope", ev.get()).kind == Value::Kind::Missing);
}

TEST_CASE("expr: metadata") {
    auto ev = event(kEvent, 1700000000123, "dev-1");
    CHECK(num("$time", ev.get()) == 1700000000123.0);
    CHECK(str("$key", ev.get()) == "dev-1");
    CHECK(str("$topic", ev.get()) == "sensors/d1/temp");
    CHECK(num("$partition", ev.get()) == 3);
    CHECK(num("$offset", ev.get()) == 42);
    CHECK(test("$key == \"dev-1\" && $time > 1700000000000", ev.get()));
}

TEST_CASE("expr: comparisons") {
    auto ev = event(kEvent);
    CHECK(test("temp > 90", ev.get()));
    CHECK_FALSE(test("temp < 90", ev.get()));
    CHECK(test("temp >= 91.5", ev.get()));
    CHECK(test("temp <= 91.5", ev.get()));
    CHECK(test("temp == 91.5", ev.get()));
    CHECK(test("temp != 91", ev.get()));
    CHECK(test("90 < temp", ev.get()));  // constant on the left
    CHECK(test("-5 < neg", ev.get()));
    CHECK(test("n == 7 && n != 8", ev.get()));
    CHECK(test("name == \"Pump-7\"", ev.get()));
    CHECK(test("name != \"pump-7\"", ev.get()));
    CHECK(test("name < \"Q\" && name > \"P\"", ev.get()));
    CHECK(test("on == true && off == false", ev.get()));
    CHECK(test("nil == null", ev.get()));
    CHECK_FALSE(test("temp == null", ev.get()));
    CHECK(test("temp != null", ev.get()));
    CHECK(test("a.b == a.b", ev.get()));  // JSON values compare deeply
    CHECK_FALSE(test("a.b == site", ev.get()));
    CHECK(test("temp > n", ev.get()));
}

TEST_CASE("expr: a missing field makes every comparison false") {
    auto ev = event(kEvent);
    uint64_t type_errors = 0;
    for (const char* t : {"nope > 1", "nope < 1", "nope == 1", "nope != 1", "nope == null", "nope != null",
                          "nope == nope", "1 <= nope", "nope >= \"a\"", "nope in [1, 2]", "nope matches \"a\""}) {
        CHECK_MESSAGE(!test(t, ev.get(), &type_errors), t);
    }
    CHECK(type_errors == 0);
    CHECK(test("!(nope > 1)", ev.get()));
}

TEST_CASE("expr: runtime type mismatches are false and counted") {
    auto ev = event(kEvent);
    uint64_t type_errors = 0;
    CHECK_FALSE(test("name > 5", ev.get(), &type_errors));
    CHECK(type_errors == 1);
    CHECK_FALSE(test("name == 5", ev.get(), &type_errors));
    CHECK_FALSE(test("name != 5", ev.get(), &type_errors));
    CHECK_FALSE(test("on < off", ev.get(), &type_errors));
    CHECK(eval("name * 2", ev.get(), &type_errors).kind == Value::Kind::Missing);
    CHECK(eval("-name", ev.get(), &type_errors).kind == Value::Kind::Missing);
    CHECK(type_errors == 6);
    CHECK_FALSE(test("name > 5", ev.get()));  // no counter: still false, no crash
}

TEST_CASE("expr: logic and truthiness") {
    auto ev = event(kEvent);
    CHECK(test("on && !off", ev.get()));
    CHECK(test("on and not off", ev.get()));
    CHECK(test("off || on", ev.get()));
    CHECK(test("off or on", ev.get()));
    CHECK_FALSE(test("off || nope", ev.get()));
    CHECK(test("n", ev.get()));
    CHECK_FALSE(test("zero", ev.get()));
    CHECK(test("name", ev.get()));
    CHECK_FALSE(test("empty", ev.get()));
    CHECK_FALSE(test("nil", ev.get()));
    CHECK(test("items", ev.get()));
    CHECK_FALSE(test("nope", ev.get()));
    CHECK(eval("n && on", ev.get()).kind == Value::Kind::Bool);
}

TEST_CASE("expr: arithmetic") {
    auto ev = event(kEvent);
    CHECK(num("n + 3", ev.get()) == 10);
    CHECK(num("n - 10", ev.get()) == -3);
    CHECK(num("n * 2", ev.get()) == 14);
    CHECK(num("n / 2", ev.get()) == 3.5);
    CHECK(num("n % 4", ev.get()) == 3);
    CHECK(num("-n", ev.get()) == -7);
    CHECK(num("- -n", ev.get()) == 7);
    CHECK(num("1m + 30s", ev.get()) == 90000);
    CHECK(eval("n / 0", ev.get()).kind == Value::Kind::Missing);
    CHECK(eval("n % zero", ev.get()).kind == Value::Kind::Missing);
    CHECK_FALSE(test("n / 0 > 1", ev.get()));
    CHECK_FALSE(test("n / 0 < 1", ev.get()));
    CHECK(eval("nope + 1", ev.get()).kind == Value::Kind::Missing);
}

TEST_CASE("expr: string concatenation goes into the scratch buffer") {
    auto ev = event(kEvent);
    std::string scratch = "keep";
    Value v = eval("name + \"/\" + site.id", ev.get(), nullptr, &scratch);
    REQUIRE(v.kind == Value::Kind::String);
    CHECK(v.str == "Pump-7/s1");
    CHECK(scratch == "keepPump-7/s1");  // earlier contents stay; only the result is kept
    CHECK(v.str.data() == scratch.data() + 4);
    CHECK(test("name + \"x\" == \"Pump-7x\"", ev.get()));
    // Grows the buffer in the middle of an evaluation: views must survive the move.
    std::string small;
    Value w = eval("lower(name + name + name + name + name + name + name + name) + upper(name + name + name + name "
                   "+ name + name + name + name + name + name + name + name + name + name + name + name + name + "
                   "name + name + name + name + name + name + name + name + name + name + name + name + name + "
                   "name + name + name + name + name + name + name + name + name + name)",
                   ev.get(), nullptr, &small);
    REQUIRE(w.kind == Value::Kind::String);
    CHECK(w.str.size() == 6 * 48);
    CHECK(w.str.substr(0, 7) == "pump-7p");
    CHECK(w.str.substr(48, 6) == "PUMP-7");
}

TEST_CASE("expr: in and matches") {
    auto ev = event(kEvent);
    CHECK(test("n in [1, 7, 9]", ev.get()));
    CHECK_FALSE(test("n in [1, 2]", ev.get()));
    CHECK(test("n not in [1, 2]", ev.get()));
    CHECK(test("name in [\"a\", \"Pump-7\"]", ev.get()));
    CHECK(test("site.id in [\"s0\", \"s\" + \"1\"]", ev.get()));
    CHECK_FALSE(test("n in []", ev.get()));
    CHECK(test("on in [false, true]", ev.get()));
    CHECK(test("nil in [1, null]", ev.get()));
    CHECK(test("n in [\"x\", 1 + 6]", ev.get()));  // mixed literal and computed elements
    uint64_t list_errors = 0;
    CHECK_FALSE(test("n in [\"7\"]", ev.get(), &list_errors));  // a mixed-type list is no type error
    CHECK(list_errors == 0);
    CHECK(test("\"x\" in tags", ev.get()));
    CHECK_FALSE(test("\"z\" in tags", ev.get()));
    CHECK(test("20 in items", ev.get()));
    CHECK(test("name matches \"^Pump-[0-9]+$\"", ev.get()));
    CHECK(test("name matches \"mp\"", ev.get()));  // search, not full match
    CHECK_FALSE(test("name matches \"^mp\"", ev.get()));
    uint64_t type_errors = 0;
    CHECK_FALSE(test("n matches \"7\"", ev.get(), &type_errors));
    CHECK(type_errors == 1);
}

TEST_CASE("expr: conditional") {
    auto ev = event(kEvent);
    CHECK(str("temp > 90 ? \"hot\" : \"ok\"", ev.get()) == "hot");
    CHECK(str("temp > 95 ? \"hot\" : \"ok\"", ev.get()) == "ok");
    CHECK(str("n > 10 ? \"a\" : n > 5 ? \"b\" : \"c\"", ev.get()) == "b");  // right-associative
    CHECK(num("exists(nope) ? nope : -1", ev.get()) == -1);
}

TEST_CASE("expr: precedence") {
    auto ev = event(kEvent);
    CHECK(num("1 + 2 * 3", ev.get()) == 7);
    CHECK(num("(1 + 2) * 3", ev.get()) == 9);
    CHECK(num("10 - 4 - 3", ev.get()) == 3);   // left-associative
    CHECK(num("24 / 4 / 2", ev.get()) == 3);
    CHECK(num("-2 * 3", ev.get()) == -6);
    CHECK(num("2 + 10 % 4", ev.get()) == 4);
    CHECK(test("1 + 1 == 2", ev.get()));
    CHECK(test("1 < 2 == true", ev.get()));        // relations bind tighter than equality
    CHECK(test("true || false && false", ev.get()));  // && binds tighter than ||
    CHECK_FALSE(test("(true || false) && false", ev.get()));
    CHECK(test("!false && true", ev.get()));
    CHECK(test("not off and on", ev.get()));
    CHECK(str("on || off ? \"y\" : \"n\"", ev.get()) == "y");  // ?: is lowest
    CHECK(test("n > 5 && name == \"Pump-7\" || nope", ev.get()));
}

}  // namespace vigil::test
