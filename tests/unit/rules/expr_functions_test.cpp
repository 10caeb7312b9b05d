// Built-in functions, Value helpers.
#include <cmath>

#include "expr_test_util.h"

namespace vigil::test {

namespace {
const char* kEvent = R"({"x": -2.5, "y": 4, "name": "Pump-7", "tags": ["a", "b"], "obj": {"p": 1, "q": 2},
  "nil": null, "flag": true})";
}

TEST_CASE("expr: numeric functions") {
    auto ev = event(kEvent);
    CHECK(num("abs(x)", ev.get()) == 2.5);
    CHECK(num("abs(y)", ev.get()) == 4);
    CHECK(num("round(x)", ev.get()) == -3);  // half away from zero
    CHECK(num("round(2.5)", ev.get()) == 3);
    CHECK(num("floor(x)", ev.get()) == -3);
    CHECK(num("ceil(x)", ev.get()) == -2);
    CHECK(num("min(x, y)", ev.get()) == -2.5);
    CHECK(num("max(x, y, 10)", ev.get()) == 10);
    CHECK(num("min(3, y, 9)", ev.get()) == 3);
    CHECK(eval("min(x, nope)", ev.get()).kind == Value::Kind::Missing);
    CHECK(eval("abs(nope)", ev.get()).kind == Value::Kind::Missing);
    uint64_t type_errors = 0;
    CHECK(eval("abs(name)", ev.get(), &type_errors).kind == Value::Kind::Missing);
    CHECK(eval("max(1, name)", ev.get(), &type_errors).kind == Value::Kind::Missing);
    CHECK(type_errors == 2);
}

TEST_CASE("expr: string functions") {
    auto ev = event(kEvent);
    CHECK(num("len(name)", ev.get()) == 6);
    CHECK(num("len(tags)", ev.get()) == 2);
    CHECK(num("len(obj)", ev.get()) == 2);
    CHECK(num("len(\"\")", ev.get()) == 0);
    CHECK(str("lower(name)", ev.get()) == "pump-7");
    CHECK(str("upper(name)", ev.get()) == "PUMP-7");
    CHECK(test("lower(name) == \"pump-7\"", ev.get()));
    CHECK(test("starts_with(name, \"Pu\")", ev.get()));
    CHECK_FALSE(test("starts_with(name, \"pu\")", ev.get()));
    CHECK(test("ends_with(name, \"-7\")", ev.get()));
    CHECK(test("contains(name, \"mp\")", ev.get()));
    CHECK_FALSE(test("contains(name, \"x\")", ev.get()));
    CHECK(test("contains(tags, \"b\")", ev.get()));
    CHECK_FALSE(test("contains(tags, \"c\")", ev.get()));
    CHECK_FALSE(test("starts_with(nope, \"a\")", ev.get()));
    CHECK(eval("len(nope)", ev.get()).kind == Value::Kind::Missing);
    uint64_t type_errors = 0;
    CHECK(eval("len(y)", ev.get(), &type_errors).kind == Value::Kind::Missing);
    CHECK(eval("lower(y)", ev.get(), &type_errors).kind == Value::Kind::Missing);
    CHECK_FALSE(test("starts_with(y, \"4\")", ev.get(), &type_errors));
    CHECK(type_errors == 3);
}

TEST_CASE("expr: exists") {
    auto ev = event(kEvent);
    CHECK(test("exists(name)", ev.get()));
    CHECK(test("exists(nil)", ev.get()));  // present, even though null
    CHECK(test("exists(obj.p)", ev.get()));
    CHECK_FALSE(test("exists(obj.z)", ev.get()));
    CHECK_FALSE(test("exists(nope)", ev.get()));
    CHECK(test("!exists(nope)", ev.get()));
    CHECK_FALSE(test("exists(y / 0)", ev.get()));
}

TEST_CASE("expr: Value helpers") {
    JsonDoc doc;
    REQUIRE(doc.parse(R"({"s":"a\"b","n":1.5,"i":3,"b":false,"z":null,"arr":[1,{"k":"v"}]})"));
    JsonRef r = doc.root();
    CHECK(Value::from_json(r["s"]).str == "a\"b");
    CHECK(Value::from_json(r["n"]).number == 1.5);
    CHECK(Value::from_json(r["b"]).kind == Value::Kind::Bool);
    CHECK(Value::from_json(r["z"]).kind == Value::Kind::Null);
    CHECK(Value::from_json(r["arr"]).kind == Value::Kind::Json);
    CHECK(Value::from_json(r["none"]).kind == Value::Kind::Missing);

    auto json = [](const Value& v) {
        std::string out;
        v.write_json(out);
        return out;
    };
    CHECK(json(Value::missing()) == "null");
    CHECK(json(Value::null()) == "null");
    CHECK(json(Value::of(true)) == "true");
    CHECK(json(Value::of(3.0)) == "3");
    CHECK(json(Value::of(0.25)) == "0.25");
    CHECK(json(Value::of(std::nan(""))) == "null");
    CHECK(json(Value::of(std::string_view("a\"b"))) == R"("a\"b")");
    CHECK(json(Value::from_json(r["arr"])) == R"([1,{"k":"v"}])");

    CHECK_FALSE(Value::missing().truthy());
    CHECK_FALSE(Value::null().truthy());
    CHECK_FALSE(Value::of(0.0).truthy());
    CHECK_FALSE(Value::of(std::nan("")).truthy());
    CHECK(Value::of(-1.0).truthy());
    CHECK_FALSE(Value::of(std::string_view()).truthy());
    CHECK(Value::of(std::string_view("x")).truthy());
    CHECK(Value::from_json(r["arr"]).truthy());
}

TEST_CASE("expr: evaluation without an event or a scratch buffer") {
    Compiled c = compile("temp > 1 || lower(\"AB\") == \"ab\"");
    REQUIRE(c.expr);
    EvalContext ctx;  // no event, no scratch
    CHECK(c.expr->test(ctx));
    Compiled m = compile("$time > 0 || exists(temp)");
    REQUIRE(m.expr);
    CHECK_FALSE(m.expr->test(ctx));
    CHECK(c.expr->source() == "temp > 1 || lower(\"AB\") == \"ab\"");
}

}  // namespace vigil::test
