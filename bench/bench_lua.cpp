// Lua host and whole-rule Lua runtime throughput.
//
//   lua_predicate   f(a,b,c,d) = a > 10 and b == "x", called via LuaProgram::call
//                   with a 4-field event's values (target >= 3M calls/s)
//   lua_on_event    a whole rule: per-key state update + field reads, 1000 keys
//                   (target >= 200k events/s; 1% of events emit an alert)
// Baselines, measured in the same run: the same logic as C++ code. The ratio
// column is figure / baseline. Exit status 1 when a target is missed.
#include <chrono>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "patterns/lua_runtime.h"
#include "rules/lua_host.h"

using namespace vigil;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Row {
    const char* name;
    double figure;
    double target;
    double baseline;
    const char* unit;
};

class CountingSink : public AlertSink {
public:
    void emit(Alert&&) override { ++n; }
    size_t n = 0;
};

}  // namespace

int main() {
    std::vector<Row> rows;
    const int kCalls = 3'000'000;

    // Four-field event values, varied so neither side can fold the loop away.
    std::vector<Value> args(4 * 64);
    static const char* kStrings[] = {"x", "y"};
    for (int i = 0; i < 64; ++i) {
        args[4 * i] = Value::of(static_cast<double>(i % 20));
        args[4 * i + 1] = Value::of(std::string_view(kStrings[i % 3 == 0]));
        args[4 * i + 2] = Value::of(i % 2 == 0);
        args[4 * i + 3] = Value::of(static_cast<double>(i) * 0.5);
    }

    Diagnostics diags;
    auto host = compile_lua("function f(a, b, c, d) return a > 10 and b == \"x\" end", "bench", LuaLimits{},
                            SourcePos{}, diags);
    if (!host) {
        std::fprintf(stderr, "%s\n", diags.to_string().c_str());
        return 2;
    }
    std::string scratch;
    size_t lua_true = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) {
        scratch.clear();
        Value v = host->call("f", &args[4 * (i & 63)], 4, scratch);
        lua_true += v.kind == Value::Kind::Bool && v.boolean;
    }
    double lua_rate = kCalls / seconds_since(t0);

    auto predicate = [](const Value* a) { return a[0].number > 10 && a[1].str == "x"; };
    size_t cpp_true = 0;
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) {
        const Value* a = &args[4 * (i & 63)];
        asm volatile("" : : "r"(a) : "memory");  // keep each call
        cpp_true += predicate(a);
    }
    double cpp_rate = kCalls / seconds_since(t0);
    if (lua_true != cpp_true) {
        std::fprintf(stderr, "predicate results differ: lua %zu, c++ %zu\n", lua_true, cpp_true);
        return 2;
    }
    rows.push_back({"lua_predicate", lua_rate, 3e6, cpp_rate, "calls/s"});

    // Whole rule: 200k events over 1000 keys.
    const int kEvents = 200'000;
    const int kKeys = 1000;
    auto rule = std::make_shared<Rule>();
    rule->id = "bench";
    rule->body = RuleBody::Lua;
    rule->version = "00000000";
    rule->lua_source = R"(
function on_event(ev, state, ctx)
  state.n = (state.n or 0) + 1
  state.sum = (state.sum or 0) + ev.value
  if ev.value > 98 and ev.metric == "temperature" then ctx.emit{ avg = state.sum / state.n } end
end)";
    std::vector<EventPtr> events;
    events.reserve(kEvents);
    for (int i = 0; i < kEvents; ++i) {
        auto e = std::make_shared<Event>();
        e->key = "dev" + std::to_string(i % kKeys);
        e->time = i;
        e->offset = static_cast<uint64_t>(i);
        const std::string payload_text = "{\"device\":\"" + e->key + "\",\"metric\":\"temperature\",\"value\":" +
                     std::to_string(i % 100) + ",\"ts\":" + std::to_string(i) + "}";
        e->doc.parse(payload_text);
        events.push_back(std::move(e));
    }
    ManualClock clock;
    auto rt = make_lua_runtime(rule, clock);
    CountingSink sink;
    t0 = std::chrono::steady_clock::now();
    for (const auto& e : events) rt->on_event(e, sink);
    double rule_rate = kEvents / seconds_since(t0);

    struct Acc {
        double n = 0, sum = 0;
    };
    std::unordered_map<std::string, Acc> acc;
    size_t cpp_alerts = 0;
    t0 = std::chrono::steady_clock::now();
    for (const auto& e : events) {
        Acc& a = acc[e->key];
        double value = e->root()["value"].as_number();
        a.n += 1;
        a.sum += value;
        if (value > 98 && e->root()["metric"].as_string() == "temperature") ++cpp_alerts;
    }
    double cpp_rule_rate = kEvents / seconds_since(t0);
    if (sink.n != cpp_alerts || rt->counters().errors != 0) {
        std::fprintf(stderr, "whole-rule results differ: lua %zu alerts (%llu errors), c++ %zu\n", sink.n,
                     static_cast<unsigned long long>(rt->counters().errors), cpp_alerts);
        return 2;
    }
    rows.push_back({"lua_on_event", rule_rate, 2e5, cpp_rule_rate, "events/s"});

    std::printf("%-16s %14s %12s %10s %14s\n", "name", "figure", "target", "ratio", "baseline(c++)");
    bool ok = true;
    for (const auto& r : rows) {
        std::printf("%-16s %10.2fM %-3s %10.2fM %9.3fx %12.2fM\n", r.name, r.figure / 1e6, "", r.target / 1e6,
                    r.figure / r.baseline, r.baseline / 1e6);
        if (r.figure < r.target) ok = false;
    }
    std::printf("units: %s, %s; ratio = figure / baseline; %s\n", rows[0].unit, rows[1].unit,
                ok ? "all targets met" : "TARGET MISSED");
    return ok ? 0 : 1;
}
