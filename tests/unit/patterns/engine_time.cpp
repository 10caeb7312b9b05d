// The engine's event time: ordering, watermarks, lateness, idleness, flush.
#include <doctest/doctest.h>

#include "nfa_support.h"
#include "patterns/engine.h"
#include "rules/expr.h"

using namespace vigil;
using namespace vigil::nfa_test;
using V = std::vector<std::string>;

namespace {
// Records what the engine hands a runtime.
struct Calls {
    std::vector<std::string> log;
};
Calls* g_calls = nullptr;

class RecordingRuntime : public RuleRuntime {
public:
    RecordingRuntime(RulePtr r, const Clock& c) : RuleRuntime(std::move(r), c) {}
    void on_event(const EventPtr& ev, AlertSink&) override {
        g_calls->log.push_back(rule_->id + ":" + std::string(ev->root()["id"].as_string()) + "@" +
                               std::to_string(ev->time) + "/" + ev->key);
    }
    void on_watermark(int64_t wm, AlertSink&) override {
        g_calls->log.push_back(rule_->id + ":wm=" + (wm == INT64_MAX ? std::string("inf") : std::to_string(wm)));
    }
    bool on_late_event(const EventPtr& ev, AlertSink&) override {
        return ev->root()["accept_late"].is_bool();
    }
    size_t key_count() const override { return 0; }
    size_t state_bytes() const override { return 0; }
    std::string describe_key(const std::string&) const override { return {}; }
};

std::unique_ptr<RuleRuntime> recording(RulePtr r, const Clock& c) { return std::make_unique<RecordingRuntime>(r, c); }

RuleSetPtr one_rule(std::shared_ptr<Rule> r) {
    auto set = std::make_shared<RuleSet>();
    set->rules.push_back(std::move(r));
    return set;
}

StreamSpec spec(const std::string& name, int64_t ooo, int64_t idle = 0) {
    StreamSpec s;
    s.name = name;
    s.max_out_of_order_ms = ooo;
    s.idle_timeout_ms = idle;
    FieldPath p;
    FieldPath::parse("key", p, nullptr);
    s.key.push_back(p);
    return s;
}

struct Fixture {
    Fixture(std::shared_ptr<Rule> rule, int64_t ooo, int64_t idle = 0)
        : engine(one_rule(std::move(rule)), {spec("s", ooo, idle)}, clock, sink, &recording) {
        g_calls = &calls;
    }
    Calls calls;
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine;
};

std::shared_ptr<Rule> rule_r() {
    auto r = pattern_rule({stage({.name = "a"})});
    r->stream = "s";
    return r;
}
}  // namespace

TEST_CASE("engine: events are released in event-time order once the watermark passes them") {
    Fixture f(rule_r(), 5);
    f.engine.push(event("a", 10, "e1"));
    f.engine.push(event("a", 8, "e2"));
    f.engine.push(event("a", 12, "e3"));
    CHECK(f.calls.log == V{"r:wm=5", "r:wm=7"});  // nothing is <= 7 yet
    CHECK(f.engine.buffered() == 3);
    f.engine.push(event("a", 16, "e4"));  // wm 11: releases 8 and 10
    CHECK(f.calls.log == V{"r:wm=5", "r:wm=7", "r:e2@8/k", "r:e1@10/k", "r:wm=11"});
    CHECK(f.engine.watermark("s") == 11);
    f.engine.flush();
    CHECK(f.calls.log == V{"r:wm=5", "r:wm=7", "r:e2@8/k", "r:e1@10/k", "r:wm=11", "r:e3@12/k", "r:e4@16/k", "r:wm=inf"});
}

TEST_CASE("engine: ties in event time keep arrival order") {
    Fixture f(rule_r(), 10);
    f.engine.push(event("a", 5, "x1"));
    f.engine.push(event("a", 5, "x2"));
    f.engine.push(event("a", 4, "x0"));
    f.engine.push(event("a", 5, "x3"));
    f.engine.flush();
    CHECK(f.calls.log == V{"r:wm=-5", "r:x0@4/k", "r:x1@5/k", "r:x2@5/k", "r:x3@5/k", "r:wm=inf"});
}

TEST_CASE("engine: with no out-of-order allowance events pass straight through") {
    Fixture f(rule_r(), 0);
    f.engine.push(event("a", 1, "e1"));
    f.engine.push(event("a", 1, "e2"));  // equal to the watermark: not late
    CHECK(f.calls.log == V{"r:e1@1/k", "r:wm=1", "r:e2@1/k"});
    CHECK(f.engine.buffered() == 0);
}

TEST_CASE("engine: late events are counted per rule and published to late_topic") {
    auto r = rule_r();
    r->late_topic = "late/{rule}/{key}";
    Fixture f(r, 0);
    f.engine.push(event("a", 100, "e1"));
    f.engine.push(event("a", 50, "old"));
    f.engine.push(event("a", 60, "kept", "k", "\"accept_late\":true"));  // the runtime takes it
    CHECK(f.engine.late_events() == 2);
    auto st = f.engine.stats();
    REQUIRE(st.size() == 1);
    CHECK(st[0].counters.late_events == 1);
    CHECK(st[0].events == 1);
    REQUIRE(f.sink.alerts.size() == 1);
    CHECK(f.sink.alerts[0].kind == "late");
    CHECK(f.sink.alerts[0].topic == "late/r/k");
    CHECK(f.sink.alerts[0].time == 50);
    CHECK(f.sink.alerts[0].events[0].first == "late");
}

TEST_CASE("engine: $watermark advances a stream explicitly and never backwards") {
    Fixture f(rule_r(), 1000);
    f.engine.push(event("a", 10, "e1"));
    f.engine.advance_watermark("s", 10);
    CHECK(f.calls.log == V{"r:wm=-990", "r:e1@10/k", "r:wm=10"});
    f.engine.advance_watermark("s", 3);
    CHECK(f.engine.watermark("s") == 10);
    f.engine.push(event("a", 5, "late"));
    CHECK(f.engine.late_events() == 1);
}

TEST_CASE("engine: an idle stream advances its watermark with the wall clock") {
    Fixture f(rule_r(), 2'000, 30'000);
    f.clock.now = 1'000'000;
    f.engine.push(event("a", 1'000'000, "e1"));
    CHECK(f.engine.buffered() == 1);
    f.engine.on_wall_clock(1'029'999);
    CHECK(f.engine.buffered() == 1);  // not idle yet
    f.engine.on_wall_clock(1'030'000);
    CHECK(f.engine.watermark("s") == 1'028'000);  // now - max_out_of_order
    CHECK(f.engine.buffered() == 0);
    f.engine.on_wall_clock(1'040'000);
    CHECK(f.engine.watermark("s") == 1'038'000);  // keeps moving while idle
}

TEST_CASE("engine: rules see only their stream and events passing their where") {
    auto r = rule_r();
    r->where = std::make_shared<FieldIs>("type", "a");
    Fixture f(r, 0);
    f.engine.push(event("a", 1, "yes"));
    f.engine.push(event("b", 2, "no"));
    auto other = std::make_shared<Event>(*event("a", 3, "other-stream"));
    other->stream = "t";
    f.engine.push(other);
    CHECK(f.calls.log == V{"r:yes@1/k", "r:wm=1", "r:wm=2"});
}

namespace {
// `type == "a"` that counts its evaluations.
class CountingWhere : public FieldIs {
public:
    CountingWhere(std::string value, int* count) : FieldIs("type", std::move(value)), count_(count) {}
    Value eval(const EvalContext& ctx) const override {
        ++*count_;
        return FieldIs::eval(ctx);
    }

private:
    int* count_;
};
}  // namespace

TEST_CASE("engine: rules whose where has the same text evaluate it once per event") {
    int same = 0, other = 0;
    auto set = std::make_shared<RuleSet>();
    for (const char* id : {"r1", "r2", "r3"}) {
        auto r = pattern_rule({stage({.name = "a"})}, id);
        r->stream = "s";
        r->where = std::make_shared<CountingWhere>("a", &same);  // separate objects, one text
        set->rules.push_back(r);
    }
    auto r4 = pattern_rule({stage({.name = "a"})}, "r4");
    r4->stream = "s";
    r4->where = std::make_shared<CountingWhere>("b", &other);
    set->rules.push_back(r4);
    Calls calls;
    g_calls = &calls;
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine(set, {spec("s", 0)}, clock, sink, &recording);
    engine.push(event("a", 1, "e1"));
    engine.push(event("b", 2, "e2"));
    engine.push(event("a", 3, "e3"));
    CHECK(same == 3);
    CHECK(other == 3);
    V seen;
    for (const auto& line : calls.log)
        if (line.find("wm=") == std::string::npos) seen.push_back(line);
    CHECK(seen == V{"r1:e1@1/k", "r2:e1@1/k", "r3:e1@1/k", "r4:e2@2/k", "r1:e3@3/k", "r2:e3@3/k", "r3:e3@3/k"});
}

TEST_CASE("engine: `where NAME == \"TEXT\"` rules read NAME once and see what their own test() gives") {
    // Several texts on one member, another member, a different comparison (evaluated
    // as before); members that are missing, not strings, escaped or nested.
    const char* wheres[] = {R"(kind == "x")", R"(kind == "y")", R"(kind == "x")", R"(kind == "a\"b")",
                            R"(other == "x")", R"(kind != "x")", R"(kind == "")"};
    auto set = std::make_shared<RuleSet>();
    for (size_t i = 0; i < std::size(wheres); ++i) {
        auto r = pattern_rule({stage({.name = "a"})}, "r" + std::to_string(i));
        r->stream = "s";
        Diagnostics diags;
        r->where = Expr::compile(wheres[i], ExprScope{}, SourcePos{}, diags);
        REQUIRE_MESSAGE(r->where, diags.to_string());
        set->rules.push_back(r);
    }
    std::string_view name, text;
    CHECK(set->rules[0]->where->string_equality(name, text));
    CHECK((name == "kind" && text == "x"));
    CHECK_FALSE(set->rules[5]->where->string_equality(name, text));  // != is not an equality
    const char* extras[] = {R"("kind":"x")", R"("kind":"y")", R"("kind":"a\"b")", R"("kind":"x","other":"x")",
                            R"("kind":5)", R"("kind":null)", R"("kind":{"x":1})", R"("other":"x")", R"("kind":"")",
                            R"("kind":"\u0078")", ""};
    Calls calls;
    g_calls = &calls;
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine(set, {spec("s", 0)}, clock, sink, &recording);
    V want;
    int64_t t = 0;
    for (const char* extra : extras) {
        ++t;
        EventPtr ev = event("a", t, "e" + std::to_string(t), "k", extra);
        EvalContext ctx;
        ctx.event = ev.get();
        for (const auto& r : set->rules)
            if (r->where->test(ctx)) want.push_back(r->id + ":e" + std::to_string(t) + "@" + std::to_string(t) + "/k");
        engine.push(ev);
    }
    V seen;
    for (const auto& line : calls.log)
        if (line.find("wm=") == std::string::npos) seen.push_back(line);
    CHECK(seen == want);
    CHECK(seen.size() == 15);  // the wheres do not all answer alike
}

TEST_CASE("engine: a rule keyed differently from its stream is regrouped by its own key") {
    auto r = rule_r();
    FieldPath p;
    FieldPath::parse("merchant", p, nullptr);
    r->key.push_back(p);
    Fixture f(r, 0);
    f.engine.push(event("a", 1, "e1", "card1", "\"merchant\":\"m9\""));
    CHECK(f.calls.log == V{"r:e1@1/m9", "r:wm=1"});
}

TEST_CASE("engine: swap_rules keeps a runtime whose version is unchanged") {
    auto a = pattern_rule({stage({.name = "a"}), stage({.name = "b"})}, "keep");
    auto b = pattern_rule({stage({.name = "a"}), stage({.name = "b"})}, "change");
    auto set = std::make_shared<RuleSet>();
    set->rules = {a, b};
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine(set, {spec("s", 0)}, clock, sink, &make_pattern_runtime);
    engine.push(event("a", 1, "a1"));
    auto b2 = std::make_shared<Rule>(*b);
    b2->version = "00000002";
    auto set2 = std::make_shared<RuleSet>();
    set2->rules = {a, b2};
    const RuleRuntime* kept = engine.runtime("keep");
    engine.swap_rules(set2);
    CHECK(engine.runtime("keep") == kept);
    engine.push(event("b", 2, "b1"));
    REQUIRE(sink.alerts.size() == 1);
    CHECK(sink.alerts[0].rule == "keep");
}

TEST_CASE("engine: flush fires pending absence through the real pattern runtime") {
    auto r = pattern_rule({stage({.name = "hb", .type = "h"}), stage({.name = "gone", .type = "h", .negated = true})});
    r->pattern.within_ms = 60'000;
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine(one_rule(r), {spec("s", 5'000)}, clock, sink, &make_pattern_runtime);
    engine.push(event("h", 0, "h1", "dev1"));
    engine.push(event("h", 10'000, "h2", "dev2"));
    CHECK(sink.alerts.empty());
    engine.flush();
    REQUIRE(sink.alerts.size() == 2);
    CHECK(sink.alerts[0].key == "dev1");
    CHECK(sink.alerts[1].key == "dev2");
}
