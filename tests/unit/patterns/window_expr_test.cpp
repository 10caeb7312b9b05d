// Window rules with compiled expressions: aggregate arguments over the event,
// `having` and `emit.payload` over the aggregate names (SPEC 3.3).
#include <doctest/doctest.h>

#include "window_test_util.h"

using namespace vigil;
using namespace vigil::window_test;

namespace {

ExprPtr compile(const std::string& text, const std::vector<std::string>& vars = {}) {
    ExprScope scope;
    scope.vars = vars;
    scope.has_event = vars.empty();
    Diagnostics diags;
    auto e = Expr::compile(text, scope, SourcePos{}, diags);
    REQUIRE_MESSAGE(e, text);
    return e;
}

}  // namespace

TEST_CASE("having and payload see the aggregates by name") {
    auto r = window_rule(WindowType::Tumbling, {agg("avg_t", "avg", compile("value")), agg("n", "count"),
                                                agg("rms2", "avg", compile("value * value"))});
    r->window.size_ms = 300'000;
    r->window.having = compile("avg_t > 90 && n >= 3", {"avg_t", "n", "rms2"});
    r->emit.payload.emplace_back("over", compile("avg_t - 90", {"avg_t", "n", "rms2"}));
    Harness h(r);
    h.ev("m1", 0, R"({"value": 95})");
    h.ev("m1", 1'000, R"({"value": 91})");
    h.ev("m1", 2'000, R"({"value": 99})");
    h.ev("m2", 0, R"({"value": 95})");  // only 2 events: below n >= 3
    h.ev("m2", 1'000, R"({"value": 95})");
    h.wm(300'000);
    REQUIRE(h.alerts().size() == 1);
    const Alert& a = h.alerts()[0];
    CHECK(a.key == "m1");
    CHECK(Values(a).num("avg_t") == doctest::Approx(95));
    CHECK(Values(a).num("rms2") == doctest::Approx((95.0 * 95 + 91 * 91 + 99 * 99) / 3));
    JsonDoc p;
    REQUIRE(p.parse(a.payload_json));
    CHECK(p.root()["over"].as_number() == doctest::Approx(5));
    CHECK(a.to_json().find("\"window\":{\"start\":0,\"end\":300000}") != std::string::npos);
}

TEST_CASE("having on a null aggregate is false, count(expr) counts non-null values") {
    auto r = window_rule(WindowType::Tumbling, {agg("hi", "max", compile("temp")), agg("k", "count", compile("temp"))});
    r->window.size_ms = 1'000;
    r->window.having = compile("hi > 10 || k == 0", {"hi", "k"});
    Harness h(r);
    h.ev("a", 0, R"({"other": 1})");  // hi is null, k == 0: passes through the second clause
    h.ev("b", 0, R"({"temp": null})");
    h.ev("c", 0, R"({"temp": 5})");
    h.wm(1'000);
    REQUIRE(h.alerts().size() == 2);
    CHECK(h.alerts()[0].key == "a");
    CHECK(Values(h.alerts()[0]).is_null("hi"));
    CHECK(h.alerts()[1].key == "b");
}
