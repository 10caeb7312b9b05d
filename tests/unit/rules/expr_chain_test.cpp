// Chains of `field OP literal` joined by && or || (the evaluator's flattened fast
// path, rules/expr_eval.cpp): the same results, short-circuit order and type-error
// counts as the general evaluator.
#include <doctest/doctest.h>

#include "expr_test_util.h"

namespace vigil::test {

TEST_CASE("expr chains: && and || of field comparisons, with missing fields, nested paths and null event") {
    auto ev = event(R"({"amount": 1.5, "merchant": "m1", "country": "FR", "n": {"x": 3}, "list": [1, 2]})");
    CHECK(test(R"(amount < 2.0 && merchant == "m1")", ev.get()));
    CHECK_FALSE(test(R"(amount < 1.0 && merchant == "m1")", ev.get()));
    CHECK_FALSE(test(R"(amount < 2.0 && merchant == "m2")", ev.get()));
    CHECK(test(R"(amount < 2.0 && merchant != "m2" && country == "FR" && amount >= 1.5)", ev.get()));
    CHECK_FALSE(test(R"(amount < 2.0 && merchant != "m2" && country == "FR" && amount > 1.5)", ev.get()));
    CHECK(test(R"(amount > 9 || merchant == "m1")", ev.get()));
    CHECK_FALSE(test(R"(amount > 9 || merchant == "m9" || country == "DE")", ev.get()));
    CHECK(test(R"(missing == 1 || n.x == 3)", ev.get()));   // a nested path in the chain
    CHECK(test(R"(list[1] == 2 && amount <= 1.5)", ev.get()));  // an index path
    CHECK_FALSE(test(R"(missing != 1 && amount < 2)", ev.get()));  // missing: every comparison is false
    // Nine comparisons: more than the flattened form holds, so the general evaluator runs.
    CHECK(test("amount > 0 && amount > 0.1 && amount > 0.2 && amount > 0.3 && amount > 0.4 && amount > 0.5 && "
               "amount > 0.6 && amount > 0.7 && amount > 0.8",
               ev.get()));
    // Mixed && and ||: the general evaluator, same precedence.
    CHECK(test(R"(amount > 9 && merchant == "m1" || country == "FR")", ev.get()));
    CHECK_FALSE(test(R"(amount > 9 && (merchant == "m1" || country == "FR"))", ev.get()));
    CHECK_FALSE(test(R"(amount < 2.0 && merchant == "m1")", nullptr));
}

TEST_CASE("expr chains: a type error is counted only for the comparisons that run") {
    auto ev = event(R"({"amount": "high", "merchant": "m1"})");
    uint64_t errors = 0;
    // amount < 2.0 on a string: false and counted; && stops there.
    CHECK_FALSE(test(R"(amount < 2.0 && merchant == 1)", ev.get(), &errors));
    CHECK(errors == 1);
    errors = 0;
    // merchant == "m1" is true first: || never evaluates the failing comparison.
    CHECK(test(R"(merchant == "m1" || amount < 2.0)", ev.get(), &errors));
    CHECK(errors == 0);
    CHECK(test(R"(merchant == "m2" || amount < 2.0 || merchant == "m1")", ev.get(), &errors));
    CHECK(errors == 1);
}

TEST_CASE("expr fast paths: `variable OP number` (a window's having) answers as the general evaluator does") {
    ExprScope s;
    s.vars = {"v"};
    s.has_event = false;
    const char* ops[] = {"==", "!=", "<", "<=", ">", ">="};
    const Value values[] = {Value::of(94.0), Value::of(95.0), Value::of(96.0), Value::of(-0.0), Value::null(),
                            Value::missing(), Value::of(std::string_view("95")), Value::of(true)};
    for (const char* op : ops) {
        const std::string text = std::string("v ") + op + " 95";
        Compiled fast = compile(text, s);
        // `(...) == true` is the same truth through the general evaluator's nodes.
        Compiled general = compile("(" + text + ") == true", s);
        REQUIRE_MESSAGE(fast.expr, fast.errors());
        REQUIRE_MESSAGE(general.expr, general.errors());
        for (const Value& v : values) {
            CAPTURE(text);
            CAPTURE(static_cast<int>(v.kind));
            uint64_t fast_errors = 0, general_errors = 0;
            EvalContext a, b;
            a.vars = b.vars = &v;
            a.type_errors = &fast_errors;
            b.type_errors = &general_errors;
            const bool want = general.expr->test(b);
            CHECK(fast.expr->test(a) == want);
            CHECK(fast.expr->eval(a).truthy() == want);
            CHECK(fast_errors == 2 * general_errors);  // test() and eval() each count one
        }
    }
    // Without values (no window yet): false, as a missing value compares.
    Compiled c = compile("v > 1", s);
    REQUIRE(c.expr);
    EvalContext none;
    CHECK_FALSE(c.expr->test(none));
}

}  // namespace vigil::test
