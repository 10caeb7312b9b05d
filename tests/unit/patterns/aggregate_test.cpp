// The aggregate functions, on add-only windows and on sliding windows.
#include <doctest/doctest.h>

#include <cmath>

#include "patterns/aggregate.h"
#include "window_test_util.h"

using namespace vigil;
using namespace vigil::window_test;

namespace {

std::vector<AggregateSpec> all_aggs() {
    return {agg("n", "count"),          agg("nv", "count", field("v")),   agg("sum", "sum", field("v")),
            agg("avg", "avg", field("v")), agg("min", "min", field("v")), agg("max", "max", field("v")),
            agg("first", "first", field("v")), agg("last", "last", field("v")),
            agg("distinct", "distinct", field("v")), agg("sd", "stddev", field("v")),
            agg("all", "collect", field("v"))};
}

const char* kEvents[] = {R"({"v": 2})", R"({"v": null})", R"({"v": 4})", R"({})", R"({"v": 4})",
                         R"({"v": "x"})", R"({"v": 5})"};

// f(i, samples) for the samples of kEvents[i], in order.
template <class F>
void for_each_sample(const AggPlan& plan, F&& f) {
    std::vector<Sample> samples;
    int i = 0;
    for (const char* json : kEvents) {
        auto ev = event("k", 0, json);
        EvalContext ctx;
        ctx.event = ev.get();
        make_samples(plan, ctx, samples);
        f(i++, samples);
    }
}

void feed(Accumulator& acc, const AggPlan& plan) {
    for_each_sample(plan, [&](int, const std::vector<Sample>& samples) { acc.add(plan, samples); });
}

}  // namespace

TEST_CASE("aggregates: null and missing values are ignored except by count()") {
    AggPlan plan;
    REQUIRE(AggPlan::build(all_aggs(), plan, nullptr));
    Accumulator acc(plan);
    feed(acc, plan);
    std::string json;
    acc.write_values(plan, json);
    JsonDoc d;
    REQUIRE(d.parse(json));
    JsonRef r = d.root();
    CHECK(r["n"].as_number() == 7);
    CHECK(r["nv"].as_number() == 5);  // 2, 4, 4, "x", 5
    CHECK(r["sum"].as_number() == 15);
    CHECK(r["avg"].as_number() == doctest::Approx(3.75));
    CHECK(r["min"].as_number() == 2);
    CHECK(r["max"].as_number() == 5);
    CHECK(r["first"].as_number() == 2);
    CHECK(r["last"].as_number() == 5);
    CHECK(r["distinct"].as_number() == 4);  // 2, 4, "x", 5
    CHECK(r["sd"].as_number() == doctest::Approx(std::sqrt(1.1875)));  // population over 2,4,4,5
    CHECK(r["all"].dump() == R"([2,4,4,"x",5])");
}

TEST_CASE("aggregates: an empty window gives 0 for counts and sum, null for the rest") {
    AggPlan plan;
    REQUIRE(AggPlan::build(all_aggs(), plan, nullptr));
    Accumulator acc(plan);
    std::string json;
    acc.write_values(plan, json);
    CHECK(json == R"({"n":0,"nv":0,"sum":0,"avg":null,"min":null,"max":null,"first":null,"last":null,)"
                  R"("distinct":0,"sd":null,"all":[]})");
    std::vector<Value> vals;
    std::vector<JsonDoc> docs;
    acc.values(plan, vals, docs);
    CHECK(vals[3].kind == Value::Kind::Null);
    CHECK(vals[10].kind == Value::Kind::Json);
}

TEST_CASE("aggregates: merging two windows equals one window over both") {
    AggPlan plan;
    REQUIRE(AggPlan::build(all_aggs(), plan, nullptr));
    // Every split of the events, the first and the last leaving one side empty.
    const int n = static_cast<int>(std::size(kEvents));
    for (int split = 0; split <= n; ++split) {
        CAPTURE(split);
        Accumulator whole(plan), a(plan), b(plan);
        for_each_sample(plan, [&](int i, const std::vector<Sample>& samples) {
            whole.add(plan, samples);
            (i < split ? a : b).add(plan, samples);
        });
        a.merge(plan, std::move(b));
        std::string x, y;
        whole.write_values(plan, x);
        a.write_values(plan, y);
        JsonDoc dx, dy;
        REQUIRE(dx.parse(x));
        REQUIRE(dy.parse(y));
        for (const auto& name : plan.names) {
            JsonRef rx = dx.root()[name], ry = dy.root()[name];
            if (rx.is_number()) {
                CHECK(rx.as_number() == doctest::Approx(ry.as_number()));
            } else {
                CHECK(rx.dump() == ry.dump());
            }
        }
    }
}

TEST_CASE("aggregates: sliding removal matches a recomputation") {
    AggPlan plan;
    REQUIRE(AggPlan::build(all_aggs(), plan, nullptr));
    SlidingAggregates sl(plan);
    std::vector<Sample> samples;
    const int n = sizeof(kEvents) / sizeof(kEvents[0]);
    for (int i = 0; i < n; ++i) {
        auto ev = event("k", i, kEvents[i]);
        EvalContext ctx;
        ctx.event = ev.get();
        make_samples(plan, ctx, samples);
        sl.push(plan, i, samples);
    }
    sl.expire(plan, 2);  // keeps events 3..6: {}, 4, "x", 5
    Accumulator ref(plan);
    for (int i = 3; i < n; ++i) {
        auto ev = event("k", i, kEvents[i]);
        EvalContext ctx;
        ctx.event = ev.get();
        make_samples(plan, ctx, samples);
        ref.add(plan, samples);
    }
    std::string x, y;
    ref.write_values(plan, x);
    std::vector<Value> vals;
    std::vector<JsonDoc> docs;
    sl.write_values(plan, y, vals, docs);
    JsonDoc dx, dy;
    REQUIRE(dx.parse(x));
    REQUIRE(dy.parse(y));
    for (const auto& name : plan.names) {
        JsonRef rx = dx.root()[name], ry = dy.root()[name];
        CAPTURE(name);
        if (rx.is_number()) {
            CHECK(rx.as_number() == doctest::Approx(ry.as_number()));
        } else {
            CHECK(rx.dump() == ry.dump());
        }
    }
    CHECK(sl.events() == 4);
}

TEST_CASE("aggregates: collect keeps the first 100 values, unknown functions are refused") {
    AggPlan plan;
    REQUIRE(AggPlan::build({agg("all", "collect", field("v"))}, plan, nullptr));
    Accumulator acc(plan);
    std::vector<Sample> samples;
    for (int i = 0; i < 150; ++i) {
        auto ev = event("k", 0, "{\"v\": " + std::to_string(i) + "}");
        EvalContext ctx;
        ctx.event = ev.get();
        make_samples(plan, ctx, samples);
        acc.add(plan, samples);
    }
    std::vector<Value> vals;
    std::vector<JsonDoc> docs;
    acc.values(plan, vals, docs);
    REQUIRE(vals[0].kind == Value::Kind::Json);
    CHECK(vals[0].json.size() == kCollectCap);
    CHECK(vals[0].json.at(99).as_number() == 99);

    AggPlan bad;
    std::string err;
    CHECK_FALSE(AggPlan::build({agg("m", "median", field("v"))}, bad, &err));
    CHECK(err.find("median") != std::string::npos);
    CHECK_FALSE(AggPlan::build({agg("s", "sum")}, bad, &err));  // sum() needs an argument
}

TEST_CASE("aggregates: an argument written twice is evaluated once and copied") {
    AggPlan plan;
    REQUIRE(AggPlan::build(all_aggs(), plan, nullptr));
    // count() has no argument; count(v) is the first `v`; first is the first that keeps
    // text (a copy from count(v) would have none); the rest copy one of the two.
    CHECK(plan.same_arg == std::vector<int32_t>{-1, -1, 1, 1, 1, 1, -1, 6, 6, 1, 6});
    AggPlan other;
    REQUIRE(AggPlan::build({agg("a", "max", field("v")), agg("b", "min", field("w"))}, other, nullptr));
    CHECK(other.same_arg == std::vector<int32_t>{-1, -1});
    // The copies give what evaluating each argument gives (the first test's values).
    std::vector<Sample> samples;
    auto ev = event("k", 0, R"({"v": "x"})");
    EvalContext ctx;
    ctx.event = ev.get();
    make_samples(plan, ctx, samples);
    CHECK(samples[7].kind == Value::Kind::String);
    CHECK(samples[7].text == "x");  // last: copied from first, with its text
    CHECK(samples[2].kind == Value::Kind::String);
    CHECK(samples[2].text.empty());  // sum keeps no text
}

TEST_CASE("aggregates: a bare member argument read in place gives what evaluating it gives") {
    Diagnostics d;
    ExprPtr compiled = Expr::compile("v", ExprScope{}, SourcePos{}, d);
    REQUIRE_MESSAGE(compiled, d.to_string());
    std::string_view name;
    REQUIRE(compiled->member_read(name));
    CHECK(name == "v");
    auto specs = [](const ExprPtr& arg) {
        std::vector<AggregateSpec> s = all_aggs();
        for (auto& a : s)
            if (a.arg) a.arg = arg;
        return s;
    };
    AggPlan fast, full;
    REQUIRE(AggPlan::build(specs(compiled), fast, nullptr));
    REQUIRE(AggPlan::build(specs(field("v")), full, nullptr));  // evaluated in full (a test double)
    REQUIRE(fast.member[2].has_value());
    CHECK_FALSE(full.member[2].has_value());
    const char* events[] = {R"({"v": 2})",        R"({"v": -0.5})",          R"({"v": null})", R"({})",
                            R"({"w": 1})",        R"({"v": "12"})",          R"({"v": true})", R"({"v": {"x": 1}})",
                            R"({"v": [1, 2]})",   R"({"v": 7, "v": 9})",     R"({"v": 1e300})", R"({"vv": 3, "v": 4})",
                            R"({"x": {"v": 5}})", R"({"v": 123456789012})"};
    Accumulator a(fast), b(full);
    std::vector<Sample> sa, sb;
    for (const char* json : events) {
        CAPTURE(json);
        auto ev = event("k", 0, json);
        EvalContext ctx;
        ctx.event = ev.get();
        make_samples(fast, ctx, sa);
        make_samples(full, ctx, sb);
        REQUIRE(sa.size() == sb.size());
        for (size_t i = 0; i < sa.size(); ++i) {
            CHECK(sa[i].kind == sb[i].kind);
            CHECK(sa[i].boolean == sb[i].boolean);
            CHECK(sa[i].number == sb[i].number);
            CHECK(sa[i].text == sb[i].text);
        }
        a.add(fast, sa);
        b.add(full, sb);
    }
    std::string va, vb;
    a.write_values(fast, va);
    b.write_values(full, vb);
    CHECK(va == vb);
}
