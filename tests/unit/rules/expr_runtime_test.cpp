// Runtime guarantees: the scratch buffer discipline, sharing a compiled Expr
// between threads, and the fused fast paths agreeing with the general ones.
#include <thread>
#include <vector>

#include "expr_test_util.h"
#include "rules/expr_eval.h"

namespace vigil::test {

TEST_CASE("expr: scratch keeps only the result and never grows across events") {
    auto ev = event(R"({"name": "Pump-7", "site": "s1"})");
    std::string scratch = "earlier";
    EvalContext ctx;
    ctx.event = ev.get();
    ctx.scratch = &scratch;

    Compiled cond = compile("upper(name) + \"-\" + site == \"PUMP-7-s1\"");
    REQUIRE(cond.expr);
    for (int i = 0; i < 1000; ++i) REQUIRE(cond.expr->test(ctx));
    CHECK(scratch == "earlier");  // intermediate strings given back

    Compiled text = compile("lower(name) + \"@\" + site");
    REQUIRE(text.expr);
    Value a = text.expr->eval(ctx);
    CHECK(a.str == "pump-7@s1");
    CHECK(scratch == "earlierpump-7@s1");  // the result stays valid...
    Value b = text.expr->eval(ctx);
    CHECK(a.str == "pump-7@s1");  // ...until the caller clears the buffer
    CHECK(b.str == "pump-7@s1");
    CHECK(scratch == "earlierpump-7@s1pump-7@s1");
}

TEST_CASE("expr: one compiled Expr evaluated from several threads") {
    Compiled c = compile("lower(name) == \"pump-\" + id && temp > 90 && name matches \"^P\"");
    REQUIRE(c.expr);
    std::vector<std::shared_ptr<Event>> events;
    for (int i = 0; i < 64; ++i) {
        std::string id = std::to_string(i);
        events.push_back(event("{\"name\": \"Pump-" + id + "\", \"id\": \"" + id + "\", \"temp\": " +
                               std::to_string(80 + i % 20) + "}"));
    }
    auto worker = [&](size_t& hits) {
        std::string scratch;
        EvalContext ctx;
        ctx.scratch = &scratch;
        for (int round = 0; round < 200; ++round) {
            for (const auto& e : events) {
                ctx.event = e.get();
                hits += c.expr->test(ctx) ? 1 : 0;
            }
        }
    };
    size_t h1 = 0, h2 = 0;
    std::thread t1(worker, std::ref(h1));
    std::thread t2(worker, std::ref(h2));
    t1.join();
    t2.join();
    size_t expected = 0;
    for (int i = 0; i < 64; ++i) expected += 80 + i % 20 > 90 ? 1 : 0;
    CHECK(h1 == expected * 200);
    CHECK(h2 == expected * 200);
}

TEST_CASE("expr: fused field-literal comparisons agree with the general path") {
    auto ev = event(R"({"n": 5, "s": "b", "t": true, "z": null, "arr": [1], "m": 5, "u": "b"})");
    uint64_t fused_errors = 0, general_errors = 0;
    const char* ops[] = {"==", "!=", "<", "<=", ">", ">="};
    struct Pair {
        const char* field;
        const char* literal;
        const char* same_field;  // a field holding the same value as the literal
    };
    const Pair pairs[] = {{"n", "5", "m"}, {"n", "4", nullptr}, {"s", "\"b\"", "u"}, {"s", "\"a\"", nullptr},
                          {"nope", "5", "m"}};
    for (const auto& p : pairs) {
        for (const char* op : ops) {
            std::string fused = std::string(p.field) + " " + op + " " + p.literal;
            std::string mirrored = std::string(p.literal) + " " + op + " " + p.field;
            bool a = test(fused, ev.get(), &fused_errors);
            bool b = test(mirrored, ev.get(), &fused_errors);
            std::string flipped = std::string(op) == "<" ? ">" : std::string(op) == ">" ? "<"
                                : std::string(op) == "<=" ? ">=" : std::string(op) == ">=" ? "<=" : op;
            CHECK_MESSAGE(b == test(std::string(p.field) + " " + flipped + " " + p.literal, ev.get()), mirrored);
            if (p.same_field) {
                bool c = test(std::string(p.field) + " " + op + " " + p.same_field, ev.get(), &general_errors);
                CHECK_MESSAGE(a == c, fused);
            }
        }
    }
    // Mismatched kinds: false and counted on both paths.
    fused_errors = general_errors = 0;
    CHECK_FALSE(test("s == 5", ev.get(), &fused_errors));
    CHECK_FALSE(test("s == m", ev.get(), &general_errors));
    CHECK(fused_errors == 1);
    CHECK(general_errors == 1);
    CHECK(test("z == null", ev.get()));
    CHECK(test("null == z", ev.get()));
    CHECK(test("t == true", ev.get()));
    CHECK(test("t != false", ev.get()));
}

TEST_CASE("expr: matches runs in bounded stack on long strings") {
    // libstdc++'s depth-first regex executor overflows the stack near 15 KiB here.
    std::string big(60000, 'a');
    auto ev = event("{\"x\": \"" + big + "b\", \"y\": \"" + std::string(70000, 'a') + "\"}");
    uint64_t type_errors = 0;
    CHECK(test("x matches \"^(a|b)*$\"", ev.get(), &type_errors));
    CHECK(test("x matches \"^((a|c)(a|b)?)+$\"", ev.get(), &type_errors));
    CHECK_FALSE(test("x matches \"^a*$\"", ev.get(), &type_errors));
    CHECK(type_errors == 0);
    CHECK_FALSE(test("y matches \"a\"", ev.get(), &type_errors));  // over 64 KiB: no match, counted
    CHECK(type_errors == 1);
}

TEST_CASE("expr: JSON values compare by content") {
    auto ev = event(R"({"a": {"x": 1, "y": [1, 2]}, "b": {"y": [1, 2], "x": 1}, "c": {"x": 1, "y": [2, 1]},
                        "l": [{"k": "v"}], "m": [{"k": "v"}]})");
    CHECK(test("a == b", ev.get()));
    CHECK_FALSE(test("a == c", ev.get()));
    CHECK(test("a != c", ev.get()));
    CHECK(test("l == m", ev.get()));
    CHECK(test("a.y in [c.y, b.y]", ev.get()));
    CHECK(test("contains(l, m[0])", ev.get()));
}

TEST_CASE("expr: payload values as JSON") {
    auto ev = event(R"({"temp": 91.5, "name": "Pump \"7\"", "a": {"b": [1, null]}})");
    CHECK(json("temp", ev.get()) == "91.5");
    CHECK(json("name", ev.get()) == R"("Pump \"7\"")");
    CHECK(json("a", ev.get()) == R"({"b":[1,null]})");
    CHECK(json("nope", ev.get()) == "null");
    CHECK(json("temp > 90", ev.get()) == "true");
    CHECK(json("upper(name)", ev.get()) == R"("PUMP \"7\"")");
    CHECK(json("round(temp)", ev.get()) == "92");
    CHECK(json("temp / 0", ev.get()) == "null");
}

}  // namespace vigil::test

TEST_CASE("expr: same_bytes finds a difference at every offset of every length, reading only inside") {
    for (size_t n = 0; n <= 40; ++n) {
        // Each side sits at the end of its own heap block, so a read past n bytes is an
        // ASan finding; a byte before it differs too, so a read before is a wrong answer.
        std::vector<char> a(n + 1, 'x'), b(n + 1, 'y');
        for (size_t i = 0; i < n; ++i) a[1 + i] = b[1 + i] = static_cast<char>('a' + (i * 7) % 26);
        CHECK(vigil::same_bytes(a.data() + 1, b.data() + 1, n));
        for (size_t at = 0; at < n; ++at) {
            b[1 + at] ^= 0x20;
            CHECK_MESSAGE(!vigil::same_bytes(a.data() + 1, b.data() + 1, n), n << " " << at);
            b[1 + at] ^= 0x20;
        }
    }
}
