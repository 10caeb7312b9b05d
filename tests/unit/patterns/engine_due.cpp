// The engine tells a runtime of a watermark advance only once it reaches the
// runtime's due() (its earliest timer), and always before a late event. Real rules
// from YAML, the real runtimes; the reference is the same engine whose runtimes ask
// for every advance.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "patterns/engine.h"
#include "rules_support.h"

using namespace vigil;

namespace {

// Forwards every call to a real runtime. `mirror`: keeps the inner runtime's due()
// (the engine then skips as it would for the runtime itself) and counts the
// watermarks it is told; otherwise due() stays INT64_MIN: told every advance.
class Forward final : public RuleRuntime {
public:
    Forward(RulePtr rule, const Clock& clock, bool mirror)
        : RuleRuntime(rule, clock), inner_(make_runtime(rule, clock)), mirror_(mirror) {
        sync();
    }
    void on_event(const EventPtr& ev, AlertSink& out) override {
        inner_->on_event(ev, out);
        sync();
    }
    void on_watermark(int64_t wm, AlertSink& out) override {
        ++told;
        inner_->on_watermark(wm, out);
        sync();
    }
    bool on_late_event(const EventPtr& ev, AlertSink& out) override {
        bool taken = inner_->on_late_event(ev, out);
        sync();
        return taken;
    }
    size_t key_count() const override { return inner_->key_count(); }
    size_t state_bytes() const override { return inner_->state_bytes(); }
    std::string describe_key(const std::string& key) const override { return inner_->describe_key(key); }

    static inline uint64_t told = 0;  // on_watermark calls, over every Forward made since reset

private:
    void sync() {
        counters_ = inner_->counters();
        due_ = mirror_ ? inner_->due() : INT64_MIN;
    }
    std::unique_ptr<RuleRuntime> inner_;
    bool mirror_;
};

std::unique_ptr<RuleRuntime> mirrored(RulePtr r, const Clock& c) { return std::make_unique<Forward>(r, c, true); }
std::unique_ptr<RuleRuntime> every_advance(RulePtr r, const Clock& c) {
    return std::make_unique<Forward>(r, c, false);
}

// One of each timer-driven shape: time windows with grace (late events within it
// are taken), hopping, session, sliding, count, a `within` pattern with timeouts and
// an absence pattern.
const char* kRules = R"(
rules:
  - {rule: tumble, stream: s, window: {type: tumbling, size: 1s}, grace: 300ms,
     aggregate: {n: count(), hi: max(v)}}
  - {rule: hop, stream: s, where: type == "a", window: {type: hopping, size: 2s, advance: 500ms},
     aggregate: {s: sum(v)}, having: s > 5}
  - {rule: sess, stream: s, window: {type: session, gap: 400ms}, grace: 200ms, aggregate: {n: count()}}
  - {rule: slide, stream: s, window: {type: sliding, size: 700ms}, aggregate: {n: count()}, having: n > 3}
  - {rule: cnt, stream: s, window: {type: count, size: 4}, aggregate: {m: avg(v)}}
  - {rule: seq, stream: s, pattern: [{name: a, where: type == "a"}, {name: b, where: type == "b", times: 2}],
     within: 900ms, emit: {timeouts: true}}
  - {rule: absent, stream: s, pattern: [{name: a, where: type == "a"}, {name: nb, where: type == "b", not: true}],
     within: 600ms}
)";

struct Run {
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine;
    explicit Run(RuntimeFactory f)
        : engine(rules_test::load_yaml(kRules, {}, "due.yaml"), {rules_test::stream_s("key", 150)}, clock, sink, f) {}
};

}  // namespace

TEST_CASE("engine: advances below a runtime's due() are skipped, with the same alerts and counts") {
    Forward::told = 0;
    Run every(&every_advance);
    const uint64_t told_every_start = Forward::told;
    uint64_t seed = 11;
    auto next = [&](uint64_t n) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        return (seed >> 33) % n;
    };
    struct In {
        int64_t time;
        std::string key, type;
        double v;
        int64_t watermark;  // > 0: an explicit watermark instead of an event
    };
    // Mostly in order with jitter inside the allowance, some late events (some within
    // grace), gaps that close many windows at once, explicit watermarks.
    std::vector<In> inputs;
    int64_t t = 1000;
    for (int i = 0; i < 6000; ++i) {
        uint64_t r = next(100);
        if (r < 2) {
            t += 2000 + static_cast<int64_t>(next(3000));  // a gap
        } else if (r < 4) {
            inputs.push_back({0, "", "", 0, t + static_cast<int64_t>(next(500))});
            continue;
        }
        t += static_cast<int64_t>(next(40));
        int64_t at = t - static_cast<int64_t>(next(100));
        if (next(50) == 0) at = t - 150 - static_cast<int64_t>(next(600));  // late: some within grace, some not
        const char* types[] = {"a", "b", "c"};
        inputs.push_back({at, "k" + std::to_string(next(6)), types[next(3)], static_cast<double>(next(10)), 0});
    }
    auto feed = [&](Run& run) {
        uint64_t offset = 0;
        for (const In& in : inputs) {
            if (in.watermark > 0) {
                run.engine.advance_watermark("s", in.watermark);
                continue;
            }
            auto e = std::make_shared<Event>();
            e->time = in.time;
            e->key = in.key;
            e->stream = "s";
            e->offset = offset++;
            e->doc.parse("{\"type\":\"" + in.type + "\",\"key\":\"" + in.key + "\",\"v\":" + std::to_string(in.v) +
                         "}");
            run.engine.push(e);
        }
        run.engine.flush();
    };
    feed(every);
    const uint64_t told_every = Forward::told - told_every_start;
    Forward::told = 0;
    Run skipping(&mirrored);
    feed(skipping);
    const uint64_t told_skipping = Forward::told;

    REQUIRE(every.sink.alerts.size() == skipping.sink.alerts.size());
    size_t kinds[3] = {0, 0, 0};
    for (size_t i = 0; i < every.sink.alerts.size(); ++i) {
        const Alert& a = every.sink.alerts[i];
        CHECK(a.to_json() == skipping.sink.alerts[i].to_json());
        kinds[a.kind == "window" ? 0 : a.kind == "timeout" ? 1 : 2]++;
    }
    // Every shape raised something: the comparison covers them.
    CHECK(kinds[0] > 100);
    CHECK(kinds[1] > 20);
    CHECK(kinds[2] > 20);
    auto a = every.engine.stats(), b = skipping.engine.stats();
    REQUIRE(a.size() == b.size());
    uint64_t late = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        INFO(a[i].rule);
        CHECK(a[i].events == b[i].events);
        CHECK(a[i].counters.matches == b[i].counters.matches);
        CHECK(a[i].counters.late_events == b[i].counters.late_events);
        CHECK(a[i].keys == b[i].keys);
        late += a[i].counters.late_events;
    }
    CHECK(late > 50);
    CHECK(every.engine.late_events() == skipping.engine.late_events());
    // The skip happened: far fewer calls than advances.
    MESSAGE("on_watermark calls: every advance " << told_every << ", skipping " << told_skipping);
    CHECK(told_skipping * 3 < told_every);
}
