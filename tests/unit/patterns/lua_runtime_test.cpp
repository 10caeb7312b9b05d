// The whole-rule Lua runtime: on_event/on_timer, per-key state, alerts, limits.
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <string>

#include "patterns/lua_runtime.h"
#include "rules/json.h"

using namespace vigil;

namespace {

std::shared_ptr<Rule> make_rule(const std::string& id, const std::string& src, LuaLimits limits = {}) {
    auto r = std::make_shared<Rule>();
    r->id = id;
    r->body = RuleBody::Lua;
    r->lua_source = src;
    r->version = "0a1b2c3d";
    r->pos = {"rules/" + id + ".yaml", 4, 3};
    Diagnostics diags;
    r->lua = compile_lua(src, r->pos.file, limits, r->pos, diags);
    INFO(diags.to_string());
    REQUIRE(r->lua);
    return r;
}

EventPtr make_event(const std::string& key, int64_t time, uint64_t offset, const std::string& json) {
    auto e = std::make_shared<Event>();
    e->key = key;
    e->time = time;
    e->offset = offset;
    e->partition = 2;
    e->stream = "tx";
    e->topic = "bank/tx";
    REQUIRE(e->doc.parse(json));
    return e;
}

LuaRuleRuntime& lua_rt(std::unique_ptr<RuleRuntime>& rt) {
    auto* p = dynamic_cast<LuaRuleRuntime*>(rt.get());
    REQUIRE(p);
    return *p;
}

const char* kTravel = R"(
function on_event(ev, state, ctx)
  if state.last and ev.country ~= state.last.country and ev.ts - state.last.ts < 3600000 then
    ctx.emit{ severity = "high", from = state.last.country, to = ev.country, key = ctx.key, at = ctx.now() }
  end
  state.last = { country = ev.country, ts = ev.ts }
  state.n = (state.n or 0) + 1
end
)";

}  // namespace

TEST_CASE("lua runtime: state persists per key and ctx.emit raises lua alerts") {
    ManualClock clock;
    clock.now = 777;
    auto rt = make_lua_runtime(make_rule("travel", kTravel), clock);
    VectorAlertSink sink;
    rt->on_event(make_event("c1", 1000, 10, R"({"card_id":"c1","country":"FR","ts":1000})"), sink);
    rt->on_event(make_event("c2", 1500, 11, R"({"card_id":"c2","country":"US","ts":1500})"), sink);
    CHECK(sink.alerts.empty());
    rt->on_event(make_event("c1", 2000, 12, R"({"card_id":"c1","country":"BR","ts":2000})"), sink);
    REQUIRE(sink.alerts.size() == 1);
    const Alert& a = sink.alerts[0];
    CHECK(a.kind == "lua");
    CHECK(a.rule == "travel");
    CHECK(a.version == "0a1b2c3d");
    CHECK(a.key == "c1");
    CHECK(a.severity == "high");
    CHECK(a.time == 2000);
    CHECK(a.detected_at == 777);
    CHECK(a.payload_json == R"({"at":2000,"from":"FR","key":"c1","severity":"high","to":"BR"})");
    REQUIRE(a.events.size() == 1);
    CHECK(a.events[0].first == "event");
    CHECK(a.events[0].second[0]->offset == 12);
    CHECK(a.id.size() == 16);
    CHECK(rt->counters().evaluations == 3);
    CHECK(rt->counters().matches == 1);
    CHECK(rt->key_count() == 2);
    CHECK(rt->describe_key("c2") == R"({"key":"c2","state":{"last":{"country":"US","ts":1500},"n":1},"timers":[]})");
    CHECK(rt->describe_key("nobody") == R"({"key":"nobody","state":null,"timers":[]})");
}

TEST_CASE("lua runtime: the same input gives the same alert ids, ids differ per event and per emit") {
    const char* src = R"(
function on_event(ev, state, ctx)
  ctx.emit{ n = 1 }
  ctx.emit{ n = 2 }
end)";
    auto run = [&](std::vector<std::string>& ids) {
        ManualClock clock;
        auto rt = make_lua_runtime(make_rule("twice", src), clock);
        VectorAlertSink sink;
        rt->on_event(make_event("k", 100, 1, R"({"v":1})"), sink);
        rt->on_event(make_event("k", 200, 2, R"({"v":2})"), sink);
        for (const auto& a : sink.alerts) ids.push_back(a.id);
    };
    std::vector<std::string> first, second;
    run(first);
    run(second);
    REQUIRE(first.size() == 4);
    CHECK(first == second);
    std::set<std::string> distinct(first.begin(), first.end());
    CHECK(distinct.size() == 4);
}

TEST_CASE("lua runtime: ev carries the payload and metadata fields") {
    const char* src = R"(
function on_event(ev, state, ctx)
  ctx.emit{ time = ev["$time"], key = ev["$key"], topic = ev["$topic"], partition = ev["$partition"],
            offset = ev["$offset"], stream = ev["$stream"], nested = ev.a.b[2], flag = ev.flag,
            missing = ev.nothing == nil, pi = ev.pi }
end)";
    ManualClock clock;
    auto rt = make_lua_runtime(make_rule("meta", src), clock);
    VectorAlertSink sink;
    rt->on_event(make_event("dev1", 5000, 42, R"({"a":{"b":[10,20]},"flag":true,"pi":3.5,"nothing":null})"), sink);
    REQUIRE(sink.alerts.size() == 1);
    CHECK(sink.alerts[0].payload_json ==
          R"({"flag":true,"key":"dev1","missing":true,"nested":20,"offset":42,"partition":2,"pi":3.5,)"
          R"("stream":"tx","time":5000,"topic":"bank/tx"})");
}

TEST_CASE("lua runtime: timers fire on the watermark, in time order, with deterministic ids") {
    const char* src = R"(
function on_event(ev, state, ctx)
  state.count = (state.count or 0) + 1
  ctx.set_timer(ctx.now() + 1000)
end
function on_timer(key, state, ctx)
  ctx.emit{ key = key, count = state.count, at = ctx.now(), ctxkey = ctx.key }
end)";
    auto run = [&](std::vector<Alert>& alerts) {
        ManualClock clock;
        auto rt = make_lua_runtime(make_rule("silence", src), clock);
        VectorAlertSink sink;
        rt->on_event(make_event("b", 100, 1, "{}"), sink);
        rt->on_event(make_event("a", 200, 2, "{}"), sink);
        CHECK(lua_rt(rt).pending_timers() == 2);
        CHECK(rt->describe_key("a") == R"({"key":"a","state":{"count":1},"timers":[1200]})");
        rt->on_watermark(1099, sink);
        CHECK(sink.alerts.empty());
        rt->on_watermark(1100, sink);
        REQUIRE(sink.alerts.size() == 1);
        // an event later than a pending timer fires that timer first
        rt->on_event(make_event("c", 1300, 3, "{}"), sink);
        REQUIRE(sink.alerts.size() == 2);
        rt->on_watermark(10000, sink);
        REQUIRE(sink.alerts.size() == 3);
        alerts = std::move(sink.alerts);
    };
    std::vector<Alert> first, second;
    run(first);
    run(second);
    CHECK(first[0].payload_json == R"({"at":1100,"count":1,"ctxkey":"b","key":"b"})");
    CHECK(first[1].payload_json == R"({"at":1200,"count":1,"ctxkey":"a","key":"a"})");
    CHECK(first[2].key == "c");
    CHECK(first[0].time == 1100);
    CHECK(first[0].events.empty());
    for (size_t i = 0; i < 3; ++i) CHECK(first[i].id == second[i].id);
    CHECK(first[0].id != first[1].id);
}

TEST_CASE("lua runtime: timer misuse is a clear error") {
    auto level = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
    ManualClock clock;
    VectorAlertSink sink;
    auto no_handler = make_lua_runtime(make_rule("nt", "function on_event(ev, s, ctx) ctx.set_timer(5) end"), clock);
    no_handler->on_event(make_event("k", 1, 1, "{}"), sink);
    CHECK(no_handler->counters().errors == 1);
    CHECK(lua_rt(no_handler).last_error().find("ctx.set_timer: the rule defines no on_timer") != std::string::npos);

    auto rearm = make_lua_runtime(make_rule("re", R"(
function on_event(ev, s, ctx) ctx.set_timer(10) end
function on_timer(k, s, ctx) s.fired = (s.fired or 0) + 1 ctx.set_timer(ctx.now()) end)"), clock);
    rearm->on_event(make_event("k", 1, 1, "{}"), sink);
    rearm->on_watermark(100, sink);
    CHECK(rearm->counters().errors == 1);
    CHECK(lua_rt(rearm).last_error().find("must be later than the one being handled") != std::string::npos);
    CHECK(rearm->describe_key("k") == R"({"key":"k","state":{"fired":1},"timers":[]})");
    spdlog::set_level(level);
}

TEST_CASE("lua runtime: a periodic timer cannot spin forever at a flush") {
    auto level = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
    ManualClock clock;
    VectorAlertSink sink;
    auto rt = make_lua_runtime(make_rule("tick", R"(
function on_event(ev, s, ctx) ctx.set_timer(ctx.now() + 1) end
function on_timer(k, s, ctx) s.n = (s.n or 0) + 1 ctx.set_timer(ctx.now() + 1) end)"), clock);
    rt->on_event(make_event("k", 1, 1, "{}"), sink);
    rt->on_watermark(INT64_MAX, sink);
    spdlog::set_level(level);
    CHECK(rt->counters().errors == 1);
    CHECK(lua_rt(rt).pending_timers() == 1);
}

TEST_CASE("lua runtime: serialize/restore round-trips state and timers deterministically") {
    const char* src = R"(
function on_event(ev, state, ctx)
  state.s = "text"; state.i = -42; state.f = 0.25; state.yes = true; state.no = false
  state.list = {1, 2, {3, "x"}}; state.map = {z = 1, a = {deep = {deeper = "y"}}}; state[7] = "seven"
  ctx.set_timer(ev["$time"] + 500)
end
function on_timer(key, state, ctx) end)";
    ManualClock clock;
    VectorAlertSink sink;
    auto a = make_lua_runtime(make_rule("ser", src), clock);
    a->on_event(make_event("k1", 100, 1, "{}"), sink);
    std::string bytes, err;
    REQUIRE(lua_rt(a).serialize_state("k1", bytes, &err));
    CHECK_FALSE(lua_rt(a).serialize_state("nope", bytes = std::string(), &err));
    bytes.clear();
    REQUIRE(lua_rt(a).serialize_state("k1", bytes, &err));

    auto b = make_lua_runtime(make_rule("ser", src), clock);
    REQUIRE(lua_rt(b).restore_state("k1", bytes, &err));
    CHECK(b->describe_key("k1") == a->describe_key("k1"));
    std::string again;
    REQUIRE(lua_rt(b).serialize_state("k1", again, &err));
    CHECK(again == bytes);
    // a second runtime reaching the same state by another road gives the same bytes
    auto c = make_lua_runtime(make_rule("ser", src), clock);
    c->on_event(make_event("k1", 100, 1, "{}"), sink);
    std::string third;
    REQUIRE(lua_rt(c).serialize_state("k1", third, &err));
    CHECK(third == bytes);
    // the restored timer fires
    CHECK(lua_rt(b).pending_timers() == 1);
    CHECK_FALSE(lua_rt(b).restore_state("k2", bytes.substr(0, bytes.size() - 3), &err));
    CHECK(err == "malformed Lua state bytes");
    CHECK(b->key_count() == 1);
}

TEST_CASE("lua runtime: functions in state cannot be serialized") {
    ManualClock clock;
    VectorAlertSink sink;
    auto rt = make_lua_runtime(make_rule("fn", "function on_event(ev, s, ctx) s.f = print or type end"), clock);
    rt->on_event(make_event("k", 1, 1, "{}"), sink);
    std::string bytes, err;
    CHECK_FALSE(lua_rt(rt).serialize_state("k", bytes, &err));
    CHECK(err.find("function") != std::string::npos);
}

TEST_CASE("lua runtime: max_keys drops the least recently used key") {
    ManualClock clock;
    VectorAlertSink sink;
    auto rule = make_rule("keys", "function on_event(ev, s, ctx) s.seen = (s.seen or 0) + 1 end");
    rule->max_keys = 2;
    auto rt = make_lua_runtime(rule, clock);
    rt->on_event(make_event("a", 1, 1, "{}"), sink);
    rt->on_event(make_event("b", 2, 2, "{}"), sink);
    rt->on_event(make_event("a", 3, 3, "{}"), sink);
    rt->on_event(make_event("c", 4, 4, "{}"), sink);  // b is the least recently used
    CHECK(rt->key_count() == 2);
    CHECK(rt->counters().dropped_keys == 1);
    CHECK(rt->describe_key("b") == R"({"key":"b","state":null,"timers":[]})");
    CHECK(rt->describe_key("a") == R"({"key":"a","state":{"seen":2},"timers":[]})");
    rt->on_event(make_event("b", 5, 5, "{}"), sink);
    CHECK(rt->describe_key("b") == R"({"key":"b","state":{"seen":1},"timers":[]})");
}

TEST_CASE("lua runtime: an overrunning rule is stopped, counted and disabled, another keeps working") {
    auto level = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
    LuaLimits limits;
    limits.instructions = 200000;
    ManualClock clock;
    VectorAlertSink sink;
    auto bad = make_lua_runtime(make_rule("bad", R"(
function on_event(ev, s, ctx)
  ctx.emit{ before = true }
  if ev.spin then while true do end end
end)", limits), clock);
    auto good = make_lua_runtime(make_rule("good", "function on_event(ev, s, ctx) ctx.emit{ ok = true } end"), clock);
    for (int i = 0; i < 5; ++i) {
        auto ev = make_event("k", 10 + i, static_cast<uint64_t>(i), R"({"spin":true})");
        bad->on_event(ev, sink);
        good->on_event(ev, sink);
    }
    spdlog::set_level(level);
    CHECK(bad->counters().errors == 3);
    CHECK(bad->counters().matches == 0);  // alerts of a failed call are dropped
    CHECK(lua_rt(bad).disabled());
    CHECK(lua_rt(bad).host()->counters().cpu_overruns == 3);
    CHECK(bad->counters().evaluations == 3);
    CHECK(good->counters().matches == 5);
    CHECK(sink.alerts.size() == 5);
    for (const auto& a : sink.alerts) CHECK(a.rule == "good");
}

TEST_CASE("lua runtime: runtime errors are counted without disabling the rule") {
    auto level = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
    ManualClock clock;
    VectorAlertSink sink;
    auto rt = make_lua_runtime(make_rule("err", R"(
function on_event(ev, s, ctx)
  if ev.bad then error("bad event " .. ev.id) end
  ctx.emit{ id = ev.id }
end)"), clock);
    for (int i = 0; i < 6; ++i)
        rt->on_event(make_event("k", i, static_cast<uint64_t>(i), R"({"bad":true,"id":)" + std::to_string(i) + "}"),
                     sink);
    rt->on_event(make_event("k", 9, 9, R"({"id":9})"), sink);
    spdlog::set_level(level);
    CHECK(rt->counters().errors == 6);
    CHECK_FALSE(lua_rt(rt).disabled());
    CHECK(lua_rt(rt).last_error() == "lua: rules/err.yaml:6: bad event 5");
    REQUIRE(sink.alerts.size() == 1);
    CHECK(sink.alerts[0].payload_json == R"({"id":9})");
}

TEST_CASE("lua runtime: bad emit arguments and a missing on_event") {
    auto level = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
    ManualClock clock;
    VectorAlertSink sink;
    auto sev = make_lua_runtime(make_rule("sev", "function on_event(ev, s, ctx) ctx.emit{ severity = 'urgent' } end"),
                                clock);
    sev->on_event(make_event("k", 1, 1, "{}"), sink);
    CHECK(lua_rt(sev).last_error().find("severity must be one of") != std::string::npos);
    auto none = make_lua_runtime(make_rule("none", "function helper() end"), clock);
    none->on_event(make_event("k", 1, 1, "{}"), sink);
    spdlog::set_level(level);
    CHECK(lua_rt(none).disabled());
    CHECK(lua_rt(none).last_error().find("must define function on_event") != std::string::npos);
    CHECK(sink.alerts.empty());
}

namespace {

// A constant expression standing in for a compiled emit.payload entry.
class ConstString : public Expr {
public:
    explicit ConstString(std::string v) : v_(std::move(v)) {}
    Value eval(const EvalContext&) const override { return Value::of(std::string_view(v_)); }

private:
    std::string v_;
};

}  // namespace

TEST_CASE("lua runtime: emit.payload, emit.topic and emit.throttle of the YAML apply") {
    ManualClock clock;
    VectorAlertSink sink;
    auto rule = make_rule("yaml", R"(
function on_event(ev, s, ctx)
  if ev.sev then ctx.emit{ shared = "lua", severity = ev.sev } else ctx.emit{ shared = "lua" } end
end)");
    rule->severity = "low";
    rule->emit.payload = {{"source", std::make_shared<ConstString>("yaml")},
                          {"shared", std::make_shared<ConstString>("yaml")}};
    rule->emit.topic = "alerts/{rule}/{severity}/{key}";
    rule->emit.throttle_ms = 1000;
    auto rt = make_lua_runtime(rule, clock);
    rt->on_event(make_event("k/1", 100, 1, R"({"sev":"critical"})"), sink);
    rt->on_event(make_event("k/1", 500, 2, "{}"), sink);   // throttled
    rt->on_event(make_event("k/1", 1100, 3, "{}"), sink);  // next interval
    REQUIRE(sink.alerts.size() == 2);
    CHECK(sink.alerts[0].payload_json == R"({"source":"yaml","severity":"critical","shared":"lua"})");
    CHECK(sink.alerts[0].severity == "critical");
    CHECK(sink.alerts[0].topic == "alerts/yaml/critical/k_1");
    CHECK(sink.alerts[1].severity == "low");
    CHECK(sink.alerts[1].topic == "alerts/yaml/low/k_1");
    CHECK(rt->counters().matches == 2);
}

TEST_CASE("lua runtime: alert ids depend on the rule version and the event offset") {
    const char* src = "function on_event(ev, s, ctx) ctx.emit{} end";
    auto id_of = [&](const std::string& version, uint64_t offset) {
        ManualClock clock;
        VectorAlertSink sink;
        auto rule = make_rule("v", src);
        rule->version = version;
        auto rt = make_lua_runtime(rule, clock);
        rt->on_event(make_event("k", 1, offset, "{}"), sink);
        REQUIRE(sink.alerts.size() == 1);
        return sink.alerts[0].id;
    };
    CHECK(id_of("11111111", 5) == id_of("11111111", 5));
    CHECK(id_of("11111111", 5) != id_of("22222222", 5));
    CHECK(id_of("11111111", 5) != id_of("11111111", 6));
}

TEST_CASE("lua runtime: built from source when the rule holds no compiled program") {
    auto level = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
    ManualClock clock;
    VectorAlertSink sink;
    auto rule = std::make_shared<Rule>();
    rule->id = "src";
    rule->body = RuleBody::Lua;
    rule->lua_source = "function on_event(ev, s, ctx) ctx.emit{ v = ev.v } end";
    auto rt = make_lua_runtime(rule, clock);
    rt->on_event(make_event("k", 1, 1, R"({"v":3})"), sink);
    REQUIRE(sink.alerts.size() == 1);
    CHECK(sink.alerts[0].payload_json == R"({"v":3})");

    auto broken = std::make_shared<Rule>();
    broken->id = "broken";
    broken->body = RuleBody::Lua;
    broken->pos = {"rules/broken.yaml", 7, 3};
    broken->lua_source = "function on_event(ev, s, ctx)\n  ctx.emit{ \nend";
    auto brt = make_lua_runtime(broken, clock);
    brt->on_event(make_event("k", 1, 1, "{}"), sink);
    spdlog::set_level(level);
    CHECK(lua_rt(brt).disabled());
    CHECK(lua_rt(brt).last_error().find("rules/broken.yaml:9:3: error: lua: ") == 0);
    CHECK(sink.alerts.size() == 1);
}

TEST_CASE("lua runtime: state of many keys outgrowing the memory cap sheds the oldest keys") {
    auto level = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
    LuaLimits limits;
    limits.memory_bytes = 1 << 20;
    ManualClock clock;
    VectorAlertSink sink;
    auto rt = make_lua_runtime(make_rule("grow", R"(
function on_event(ev, s, ctx) s.blob = string.rep("x", 20000) .. ctx.key end)", limits), clock);
    for (int i = 0; i < 200; ++i) rt->on_event(make_event("k" + std::to_string(i), i, static_cast<uint64_t>(i), "{}"), sink);
    spdlog::set_level(level);
    CHECK(rt->counters().errors >= 1);
    CHECK(rt->counters().dropped_keys > 0);
    CHECK_FALSE(lua_rt(rt).disabled());
    CHECK(rt->key_count() + rt->counters().dropped_keys == 200);
    CHECK(rt->describe_key("k199").find("\"blob\":") != std::string::npos);  // the newest key kept its state
    CHECK(rt->state_bytes() <= limits.memory_bytes);
}
