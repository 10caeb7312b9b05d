// Bounded keyed state and the shared buffer.
#include <doctest/doctest.h>

#include "nfa_support.h"
#include "rules/expr.h"

using namespace vigil;
using namespace vigil::nfa_test;
using V = std::vector<std::string>;

TEST_CASE("shared buffer: one event taken by many partial matches is stored once") {
    SharedBuffer buf;
    auto e1 = event("a", 1, "a1");
    auto e2 = event("b", 2, "b1");
    auto n1 = buf.add(SharedBuffer::kNone, 0, e1, 0);
    auto n2 = buf.add(n1, 1, e2, 1);
    auto n3 = buf.add(n1, 1, e2, 1);  // a second branch over the same prefix and event
    CHECK(buf.live_events() == 2);
    CHECK(buf.live_nodes() == 3);
    buf.release(n1);  // the caller's own reference to the prefix
    CHECK(buf.live_nodes() == 3);  // still reachable from n2 and n3
    buf.release(n2);
    CHECK(buf.live_nodes() == 2);
    CHECK(buf.event(n3)->time == 2);
    CHECK(buf.event(buf.pred(n3))->time == 1);
    buf.release(n3);
    CHECK(buf.live_nodes() == 0);
    CHECK(buf.live_events() == 0);
}

TEST_CASE("nfa: partial matches share prefixes instead of copying events") {
    // a then b+ with `any` between repetitions: every subset of b2..b5 after b1 is a
    // branch (16), over 6 events stored once.
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b", .max = kUnbounded, .inner = Contiguity::Any}),
                              stage({.name = "z"})});
    Harness h(rule);
    h.run("a b1 b2 b3 b4 b5", false);
    CHECK(h.rt.partial_match_count() == 16);
    CHECK(h.rt.buffer().live_nodes() == 16 + 1);  // one node per (stage, event) step: a tree
    CHECK(h.rt.buffer().live_events() == 6);
}

TEST_CASE("nfa: max_partial_matches drops the oldest, counted") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b"})});
    rule->pattern.max_partial_matches = 3;
    Harness h(rule);
    h.run("a1 a2 a3 a4 a5 b1", false);
    CHECK(h.matches() == V{"a3 b1", "a4 b1", "a5 b1"});
    CHECK(h.rt.counters().dropped_partial_matches == 2);
}

TEST_CASE("nfa: max_keys drops the least recently updated key, counted") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b"})});
    rule->max_keys = 2;
    ManualClock clock;
    PatternRuntime rt(rule, clock);
    VectorAlertSink sink;
    rt.on_event(event("a", 1, "a1", "k1"), sink);
    rt.on_event(event("a", 2, "a2", "k2"), sink);
    rt.on_event(event("x", 3, "x", "k1"), sink);  // k1 is now the most recently updated
    rt.on_event(event("a", 4, "a3", "k3"), sink);  // evicts k2
    CHECK(rt.key_count() == 2);
    CHECK(rt.counters().dropped_keys == 1);
    rt.on_event(event("b", 5, "b1", "k1"), sink);
    rt.on_event(event("b", 6, "b2", "k2"), sink);
    rt.on_event(event("b", 7, "b3", "k3"), sink);
    CHECK(all_ids(sink.alerts) == V{"a1 b1", "a3 b3"});
}

TEST_CASE("nfa: describe_key and state_bytes show live state") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b"})});
    rule->pattern.within_ms = 100;
    ManualClock clock;
    PatternRuntime rt(rule, clock);
    VectorAlertSink sink;
    rt.on_event(event("a", 7, "a1", "k1", "", 42), sink);
    std::string d = rt.describe_key("k1");
    CHECK(d.find("at stage a") != std::string::npos);
    CHECK(d.find("a@7[0,42]") != std::string::npos);
    CHECK(d.find("deadline 107") != std::string::npos);
    CHECK(rt.describe_key("nope").find("no partial matches") != std::string::npos);
    CHECK(rt.state_bytes() > rt.state_bytes_without_events());
}

TEST_CASE("nfa: alerts carry kind, key, time of the last event, stage order and a stable id") {
    auto rule = pattern_rule({stage({.name = "first", .type = "a"}), stage({.name = "second", .type = "b"})});
    rule->severity = "high";
    Harness h1(rule);
    h1.push(event("a", 10, "a1", "c1", "", 1));
    h1.push(event("b", 20, "b1", "c1", "", 2));
    Harness h2(rule);
    h2.push(event("a", 10, "a1", "c1", "", 1));
    h2.push(event("b", 20, "b1", "c1", "", 2));
    REQUIRE(h1.sink.alerts.size() == 1);
    const Alert& a = h1.sink.alerts[0];
    CHECK(a.kind == "match");
    CHECK(a.key == "c1");
    CHECK(a.time == 20);
    CHECK(a.severity == "high");
    CHECK(a.rule == "r");
    REQUIRE(a.events.size() == 2);
    CHECK(a.events[0].first == "first");
    CHECK(a.events[1].first == "second");
    CHECK(a.id.size() == 16);
    CHECK(a.id == h2.sink.alerts[0].id);
}

TEST_CASE("nfa: throttle suppresses repeats per key in event time") {
    auto rule = pattern_rule({stage({.name = "a"})});
    rule->emit.throttle_ms = 10;
    Harness h(rule);
    for (int64_t t : {0, 5, 9, 10, 25}) h.push(event("a", t, "a" + std::to_string(t)));
    CHECK(h.matches() == V{"a0", "a10", "a25"});
}

namespace {
// Forwards to a compiled expression but does not describe its shape
// (string_equality() false): the runtime then evaluates it in full.
class Opaque : public Expr {
public:
    explicit Opaque(ExprPtr inner) : inner_(std::move(inner)) {}
    Value eval(const EvalContext& ctx) const override { return inner_->eval(ctx); }
    bool test(const EvalContext& ctx) const override { return inner_->test(ctx); }

private:
    ExprPtr inner_;
};
}  // namespace

TEST_CASE("nfa: stage conditions `NAME == \"TEXT\"` answer as evaluated in full, type errors counted") {
    auto compiled = [](const char* text) {
        Diagnostics d;
        ExprPtr e = Expr::compile(text, ExprScope{}, SourcePos{}, d);
        REQUIRE_MESSAGE(e, d.to_string());
        return e;
    };
    ExprPtr a = compiled(R"(kind == "x")"), b = compiled(R"(other == "y")"), stop = compiled(R"(kind == "stop")"),
            c = compiled(R"(kind == "z")");
    std::string_view name, text;
    REQUIRE(a->string_equality(name, text));
    REQUIRE(stop->string_equality(name, text));
    // a, then b one to three times until kind == "stop", then c: two members read per
    // event, by stage conditions and by `until`.
    auto make = [&](bool opaque) {
        auto wrap = [&](const ExprPtr& e) { return opaque ? std::make_shared<Opaque>(e) : e; };
        auto r = pattern_rule({stage({.name = "a", .where = wrap(a)}),
                               stage({.name = "b", .min = 1, .max = 3, .where = wrap(b), .until = wrap(stop)}),
                               stage({.name = "c", .where = wrap(c)})});
        r->pattern.skip = SkipStrategy::NoSkip;
        return r;
    };
    Harness fast(make(false)), full(make(true));
    const char* values[] = {"", R"("x")", R"("y")", R"("z")", R"("stop")", "5", "null", "true", R"({"x":1})",
                            R"("\u0078")", R"("")", R"("y ")"};
    uint64_t seed = 7;
    auto next = [&](size_t n) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<size_t>((seed >> 33) % n);
    };
    for (int64_t t = 1; t <= 3000; ++t) {
        std::string extra;
        for (const char* member : {"kind", "other"}) {
            const char* v = values[next(std::size(values))];
            if (!*v) continue;
            if (!extra.empty()) extra += ',';
            extra += std::string("\"") + member + "\":" + v;
        }
        if (next(4) == 0) extra += std::string(extra.empty() ? "" : ",") + R"("kind":"x")";  // a duplicate member
        EventPtr ev = event("e", t, "e" + std::to_string(t), "k" + std::to_string(next(3)), extra);
        fast.push(ev);
        full.push(ev);
    }
    fast.rt.on_watermark(INT64_MAX, fast.sink);
    full.rt.on_watermark(INT64_MAX, full.sink);
    REQUIRE(fast.sink.alerts.size() == full.sink.alerts.size());
    for (size_t i = 0; i < fast.sink.alerts.size(); ++i) CHECK(fast.sink.alerts[i].id == full.sink.alerts[i].id);
    CHECK(fast.rt.counters().errors == full.rt.counters().errors);
    CHECK(fast.rt.counters().matches == full.rt.counters().matches);
    CHECK(full.rt.counters().errors > 100);   // members of other types are type errors
    CHECK(full.rt.counters().matches > 100);  // and the conditions do match
}
