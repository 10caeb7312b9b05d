// Window runtime throughput on one core:
//  - tumbling 1m, avg(v) + count(), 10k keys;
//  - sliding 5m, min(v) + max(v), having max > 119.8 (about 1 evaluation in 4
//    raises an alert), 10k keys;
// against a baseline measured in the same run: a plain loop reading the same
// field of the same events and summing it. Events are parsed before timing;
// aggregate arguments and `having` are compiled expressions, as in a rule.
// Usage: bench_window [events]   (default 2000000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "patterns/window.h"
#include "rules/json.h"

using namespace vigil;

namespace {

// Compiles an expression as the rule loader does; exits on an error.
ExprPtr compile(const std::string& text, std::vector<std::string> vars = {}) {
    ExprScope scope;
    scope.has_event = vars.empty();
    scope.vars = std::move(vars);
    Diagnostics diags;
    auto e = Expr::compile(text, scope, SourcePos{}, diags);
    if (!e) {
        std::fprintf(stderr, "bench_window: cannot compile %s\n", text.c_str());
        std::exit(2);
    }
    return e;
}

class CountingSink : public AlertSink {
public:
    void emit(Alert&& a) override {
        ++alerts;
        bytes += a.values_json.size();
    }
    uint64_t alerts = 0, bytes = 0;
};

constexpr int kKeys = 10'000;
constexpr size_t kPool = 1024;

// The event stream: 1 event per 300 µs of event time (about 20 per key per
// minute), keys drawn at random over kKeys. Payloads come from a pool of parsed
// events whose key and time are rewritten in place (the runtime keeps no event),
// so memory stays small and the baseline pays the same preparation cost.
class Stream {
public:
    Stream() {
        for (int k = 0; k < kKeys; ++k) keys_.push_back("dev" + std::to_string(k));
        for (size_t i = 0; i < kPool; ++i) {
            auto e = std::make_shared<Event>();
            e->doc.parse("{\"v\":" + std::to_string(20 + static_cast<double>(next() % 1000) / 10) + "}");
            view_.push_back(e);
            pool_.push_back(std::move(e));
        }
    }
    const EventPtr& at(size_t i) {
        Event& e = *pool_[i % kPool];
        e.key = keys_[next() % kKeys];
        e.time = static_cast<int64_t>(i) * 3 / 10;
        e.offset = i;
        return view_[i % kPool];
    }

private:
    uint64_t next() {
        x_ ^= x_ << 13;
        x_ ^= x_ >> 7;
        x_ ^= x_ << 17;
        return x_;
    }
    uint64_t x_ = 88172645463325252ull;
    std::vector<std::string> keys_;
    std::vector<std::shared_ptr<Event>> pool_;
    std::vector<EventPtr> view_;  // the same events, as the runtime receives them
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double baseline(size_t n, double& keep) {
    Stream st;
    auto t0 = std::chrono::steady_clock::now();
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
        const auto& e = st.at(i);
        JsonRef v = e->root()["v"];
        if (v.is_number()) sum += v.as_number();
        sum += static_cast<double>(e->key.size());
    }
    keep += sum;
    return static_cast<double>(n) / seconds_since(t0);
}

double run(RulePtr rule, size_t n, uint64_t& alerts) {
    ManualClock clock;
    CountingSink sink;
    WindowRuntime rt(rule, clock);
    Stream st;
    auto t0 = std::chrono::steady_clock::now();
    int64_t last = 0;
    for (size_t i = 0; i < n; ++i) {
        const auto& e = st.at(i);
        last = e->time;
        rt.on_event(e, sink);
        if (i % 1000 == 999) rt.on_watermark(last, sink);
    }
    rt.on_watermark(last + 3'600'000, sink);
    alerts = sink.alerts;
    return static_cast<double>(n) / seconds_since(t0);
}

std::shared_ptr<Rule> rule(WindowType type, int64_t size, const char* f1, const char* f2) {
    auto r = std::make_shared<Rule>();
    r->id = "bench";
    r->version = "00000000";
    r->body = RuleBody::Window;
    r->window.type = type;
    r->window.size_ms = size;
    auto v = compile("v");
    r->window.aggregates.push_back({std::string(f1), std::string(f1), std::string(f1) == "count" ? nullptr : v, {}});
    r->window.aggregates.push_back({std::string(f2), std::string(f2), std::string(f2) == "count" ? nullptr : v, {}});
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    size_t n = argc > 1 ? static_cast<size_t>(std::atol(argv[1])) : 2'000'000;
    double keep = 0;
    double base = baseline(n, keep);
    uint64_t a1 = 0, a2 = 0;
    double tumbling = run(rule(WindowType::Tumbling, 60'000, "avg", "count"), n, a1);
    auto sl = rule(WindowType::Sliding, 300'000, "min", "max");
    sl->window.having = compile("max > 119.8", {"min", "max"});
    double sliding = run(sl, n, a2);
    std::printf("%-36s %14s %14s %8s\n", "name", "events/s", "target", "ratio");
    std::printf("%-36s %14.0f %14s %8s\n", "baseline: sum of field v", base, "-", "1.00");
    std::printf("%-36s %14.0f %14.0f %8.3f\n", "tumbling 1m avg+count, 10k keys", tumbling, 1e6, tumbling / base);
    std::printf("%-36s %14.0f %14.0f %8.3f\n", "sliding 5m min+max>T, 10k keys", sliding, 5e5, sliding / base);
    std::printf("(%zu events; alerts: tumbling %llu, sliding %llu; checksum %.0f)\n", n,
                static_cast<unsigned long long>(a1), static_cast<unsigned long long>(a2), keep);
    return (tumbling >= 1e6 && sliding >= 5e5) ? 0 : 1;
}
