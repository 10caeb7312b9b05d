// table("name", key) in expressions, over InlineTables (rules/table_lookup.h).
#include "expr_test_util.h"
#include "rules/table_lookup.h"

using namespace vigil;
using vigil::test::event;

namespace {

InlineTables devices() {
    InlineTables t;
    REQUIRE(t.put("devices", "pump-1", R"({"model":"X200","rated_temp":80,"limits":{"vib":4.5}})"));
    REQUIRE(t.put("devices", "17", R"({"model":"numeric","rated_temp":60})"));
    REQUIRE(t.put("cards", "c1", R"({"home":"DE","daily_limit":500})"));
    return t;
}

}  // namespace

TEST_CASE("table(): a field of the row, through the thread's table scope") {
    InlineTables t = devices();
    TableScope scope(&t);
    auto ev = event(R"({"device":"pump-1","temp":85,"id":17})");
    CHECK(test::test(R"(temp > table("devices", device).rated_temp)", ev.get()));
    CHECK(test::num(R"(table("devices", device).limits.vib)", ev.get()) == 4.5);
    CHECK(test::str(R"(table("devices", device).model)", ev.get()) == "X200");
    CHECK(test::json(R"(table("devices", device))", ev.get()) == R"({"model":"X200","rated_temp":80,"limits":{"vib":4.5}})");
    // A number key is looked up by its decimal text.
    CHECK(test::str(R"(table("devices", id).model)", ev.get()) == "numeric");
    CHECK(test::str(R"(table("devices", "pump" + "-1").model)", ev.get()) == "X200");
}

TEST_CASE("table(): a missing row, field or table is null, comparisons with it are false, never an error") {
    InlineTables t = devices();
    TableScope scope(&t);
    auto ev = event(R"({"device":"pump-9","temp":85,"flag":true})");
    uint64_t type_errors = 0;
    CHECK_FALSE(test::test(R"(temp > table("devices", device).rated_temp)", ev.get(), &type_errors));
    CHECK_FALSE(test::test(R"(temp <= table("devices", device).rated_temp)", ev.get(), &type_errors));
    CHECK(test::json(R"(table("devices", device).rated_temp)", ev.get()) == "null");
    CHECK(test::json(R"(table("devices", "pump-1").nothing)", ev.get()) == "null");
    CHECK(test::json(R"(table("nope", "pump-1"))", ev.get()) == "null");
    CHECK(test::json(R"(table("devices", missing_field))", ev.get()) == "null");
    CHECK_FALSE(test::test(R"(exists(table("devices", device)))", ev.get()));
    CHECK(test::test(R"(exists(table("devices", "pump-1")))", ev.get()));
    CHECK(test::json(R"(table("devices", flag))", ev.get()) == "null");
    CHECK(type_errors == 0);
}

TEST_CASE("table(): without any table lookup every row is null") {
    auto ev = event(R"({"device":"pump-1","temp":85})");
    CHECK(test::json(R"(table("devices", device).rated_temp)", ev.get()) == "null");
}

TEST_CASE("table(): EvalContext::tables wins over the thread's scope") {
    InlineTables thread_tables = devices();
    InlineTables own;
    REQUIRE(own.put("devices", "pump-1", R"({"rated_temp":99})"));
    TableScope scope(&thread_tables);
    auto c = test::compile(R"(table("devices", device).rated_temp)");
    REQUIRE(c.expr);
    auto ev = event(R"({"device":"pump-1"})");
    EvalContext ctx;
    ctx.event = ev.get();
    ctx.tables = &own;
    CHECK(c.expr->eval(ctx).number == 99);
    ctx.tables = nullptr;
    CHECK(c.expr->eval(ctx).number == 80);
}

TEST_CASE("table(): versions are looked up as of the event's time") {
    InlineTables t;
    REQUIRE(t.put("devices", "p1", R"({"rated_temp":70})", 1000));
    REQUIRE(t.put("devices", "p1", R"({"rated_temp":90})", 5000));
    TableScope scope(&t);
    CHECK(test::json(R"(table("devices", "p1").rated_temp)", event("{}", 500).get()) == "null");
    CHECK(test::num(R"(table("devices", "p1").rated_temp)", event("{}", 4999).get()) == 70);
    CHECK(test::num(R"(table("devices", "p1").rated_temp)", event("{}", 5000).get()) == 90);
}

TEST_CASE("table(): compile errors name the problem and position") {
    std::vector<std::string> names = {"devices", "cards"};
    ExprScope scope;
    scope.tables = &names;
    CHECK(test::error_of(R"(table("device", d).x > 1)", scope) == R"(3:16: unknown table "device" (did you mean "devices"?))");
    CHECK(test::error_of(R"(table(name, d).x > 1)", scope) ==
          R"(3:16: the table name must be a string literal, like table("devices", device))");
    CHECK(test::error_of(R"(table("devices").x > 1)", scope) ==
          "3:10: table() takes 2 arguments, a table name and a key, like table(\"devices\", device); got 1");
    CHECK(test::error_of(R"(table("devices", true).x)", scope) == "3:27: a table key must be a string or a number, not a bool");
    std::vector<std::string> none;
    scope.tables = &none;
    CHECK(test::error_of(R"(table("devices", d).x)", scope) == R"(3:16: unknown table "devices" (vigil.yaml has no tables:))");
    // Without a list of tables (no config), any name compiles.
    CHECK(test::error_of(R"(table("anything", d).x > 1)") == "compiled");
}

// `field OP table(...).path` is compiled to one fused comparison; `(exists(f) ? f : f)`
// is the same operand through the generic evaluator. Both must agree on the answer and
// on the type errors counted, for every operator, both operand orders and odd inputs.
TEST_CASE("table(): the fused field-table comparison answers as the generic one does") {
    InlineTables t = devices();
    REQUIRE(t.put("devices", "pump-2", R"({"model":"X300","rated_temp":"hot","limits":null})"));
    TableScope scope(&t);
    const char* events[] = {
        R"({"device":"pump-1","temp":85,"kind":"X200","n":{"v":80}})",
        R"({"device":"pump-1","temp":80,"kind":"X100","n":{"v":79.5}})",
        R"({"device":"pump-1","temp":"85","kind":80})",
        R"({"device":"pump-2","temp":85,"kind":"X300"})",
        R"({"device":17,"temp":60,"kind":"numeric"})",
        R"({"device":"pump-9","temp":85})",
        R"({"device":true,"temp":85})",
        R"({"device":{"a":1},"temp":85})",
        R"({"device":null,"temp":null})",
        R"({"temp":85})",
        R"([1,2])",
    };
    const char* fields[] = {"temp", "kind", "n.v"};
    const char* table_fields[] = {"rated_temp", "model", "limits"};
    const char* ops[] = {"==", "!=", "<", "<=", ">", ">="};
    int checked = 0, fused_true = 0;
    for (const char* json : events) {
        auto ev = event(json);
        for (const char* f : fields) {
            for (const char* tf : table_fields) {
                std::string lookup = std::string(R"(table("devices", device).)") + tf;
                std::string plain = std::string("(exists(") + f + ") ? " + f + " : " + f + ")";
                for (const char* op : ops) {
                    for (bool field_first : {true, false}) {
                        std::string fused = field_first ? std::string(f) + " " + op + " " + lookup
                                                        : lookup + " " + op + " " + f;
                        std::string generic = field_first ? plain + " " + op + " " + lookup
                                                          : lookup + " " + op + " " + plain;
                        uint64_t fused_errors = 0, generic_errors = 0;
                        bool a = test::test(fused, ev.get(), &fused_errors);
                        bool b = test::test(generic, ev.get(), &generic_errors);
                        CHECK_MESSAGE(a == b, fused << " on " << json);
                        CHECK_MESSAGE(fused_errors == generic_errors, fused << " on " << json);
                        ++checked;
                        fused_true += a;
                    }
                }
            }
        }
    }
    CHECK(checked == 11 * 3 * 3 * 6 * 2);
    CHECK(fused_true > 20);  // the inputs reach true answers too, not only the missing-row false
}
