// Tumbling and hopping windows: boundaries, grace, lateness, emission modes.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include "window_test_util.h"

using namespace vigil;
using namespace vigil::window_test;

namespace {

std::shared_ptr<Rule> tumbling(int64_t size, int64_t grace = 0) {
    auto r = window_rule(WindowType::Tumbling, {agg("n", "count"), agg("s", "sum", field("v"))});
    r->window.size_ms = size;
    r->window.grace_ms = grace;
    return r;
}

}  // namespace

TEST_CASE("tumbling: [start, end) windows close when the watermark reaches end") {
    Harness h(tumbling(60'000));
    h.ev("a", 0, R"({"v": 1})");
    h.ev("a", 59'999, R"({"v": 2})");
    CHECK(h.alerts().empty());
    h.ev("a", 60'000, R"({"v": 4})");  // exactly at end: the next window, and closes the first
    REQUIRE(h.alerts().size() == 1);
    const Alert& a = h.alerts()[0];
    CHECK(a.kind == "window");
    CHECK(a.key == "a");
    CHECK(a.window == std::make_pair<int64_t, int64_t>(0, 60'000));
    CHECK(a.time == 60'000);
    CHECK(Values(a).num("n") == 2);
    CHECK(Values(a).num("s") == 3);
    CHECK(a.events.empty());
    h.wm(119'999);
    CHECK(h.alerts().size() == 1);
    h.wm(120'000);
    REQUIRE(h.alerts().size() == 2);
    CHECK(h.alerts()[1].window == std::make_pair<int64_t, int64_t>(60'000, 120'000));
    CHECK(Values(h.alerts()[1]).num("s") == 4);
    CHECK(h.rt.key_count() == 0);
}

TEST_CASE("tumbling: grace keeps a window open for late events until watermark >= end + grace") {
    Harness h(tumbling(60'000, 10'000));
    h.ev("a", 1'000, R"({"v": 1})");
    h.wm(65'000);
    CHECK(h.alerts().empty());
    CHECK(h.late("a", 30'000, R"({"v": 10})"));  // within grace
    h.wm(69'999);
    CHECK(h.alerts().empty());
    h.wm(70'000);  // exactly end + grace: closed
    REQUIRE(h.alerts().size() == 1);
    CHECK(Values(h.alerts()[0]).num("n") == 2);
    CHECK(Values(h.alerts()[0]).num("s") == 11);
    CHECK_FALSE(h.late("a", 59'999, R"({"v": 100})"));  // its window is closed: late
    CHECK(h.rt.key_count() == 0);
}

TEST_CASE("tumbling: a late event without grace is refused and changes nothing") {
    Harness h(tumbling(1'000));
    h.wm(5'000);
    CHECK_FALSE(h.late("a", 4'999, R"({"v": 1})"));
    CHECK(h.rt.key_count() == 0);
    h.wm(100'000);
    CHECK(h.alerts().empty());
}

TEST_CASE("tumbling: windows are aligned to the epoch, also before it") {
    Harness h(tumbling(1'000));
    h.ev("a", -1'500, R"({"v": 1})");
    h.wm(0);
    REQUIRE(h.alerts().size() == 1);
    CHECK(h.alerts()[0].window == std::make_pair<int64_t, int64_t>(-2'000, -1'000));
}

TEST_CASE("hopping: an event belongs to every window with start <= t < start + size") {
    auto r = window_rule(WindowType::Hopping, {agg("n", "count")});
    r->window.size_ms = 5'000;
    r->window.advance_ms = 3'000;
    Harness h(r);
    h.ev("a", 4'000, "{}");  // in [0,5000) and [3000,8000)
    h.ev("a", 6'500, "{}");  // in [3000,8000) and [6000,11000)
    h.wm(100'000);
    REQUIRE(h.alerts().size() == 3);
    CHECK(h.alerts()[0].window == std::make_pair<int64_t, int64_t>(0, 5'000));
    CHECK(Values(h.alerts()[0]).num("n") == 1);
    CHECK(h.alerts()[1].window == std::make_pair<int64_t, int64_t>(3'000, 8'000));
    CHECK(Values(h.alerts()[1]).num("n") == 2);
    CHECK(h.alerts()[2].window == std::make_pair<int64_t, int64_t>(6'000, 11'000));
    CHECK(Values(h.alerts()[2]).num("n") == 1);
}

TEST_CASE("hopping: a late event enters only the windows still open") {
    auto r = window_rule(WindowType::Hopping, {agg("n", "count")});
    r->window.size_ms = 10'000;
    r->window.advance_ms = 5'000;
    Harness h(r);
    h.ev("a", 7'000, "{}");  // [0,10000) and [5000,15000)
    h.wm(10'000);             // closes [0,10000)
    REQUIRE(h.alerts().size() == 1);
    CHECK(h.late("a", 8'000, "{}"));  // [0,10000) closed, [5000,15000) open
    h.wm(20'000);
    REQUIRE(h.alerts().size() == 2);
    CHECK(h.alerts()[1].window == std::make_pair<int64_t, int64_t>(5'000, 15'000));
    CHECK(Values(h.alerts()[1]).num("n") == 2);
}

TEST_CASE("hopping: events in any time order count in exactly the windows holding them") {
    // Against a count by definition: in order, backwards within the last step and far
    // back (grace keeps every window open), for a size that is a multiple of the
    // advance and one that is not.
    for (auto [size, advance] : {std::pair<int64_t, int64_t>{10'000, 2'000}, {5'000, 3'000}}) {
        CAPTURE(size);
        auto r = window_rule(WindowType::Hopping, {agg("n", "count")});
        r->window.size_ms = size;
        r->window.advance_ms = advance;
        r->window.grace_ms = 3'600'000;
        Harness h(r);
        std::map<std::pair<std::string, int64_t>, int> want;  // (key, start) -> events
        std::mt19937 rng(7);
        int64_t now = -50'000;
        for (int i = 0; i < 400; ++i) {
            const std::string key = rng() % 3 ? "a" : "b";
            int64_t t = now;
            switch (rng() % 4) {
            case 0: t = now - static_cast<int64_t>(rng() % 1'000); break;   // just before
            case 1: t = now - static_cast<int64_t>(rng() % 40'000); break;  // far back
            default: now += static_cast<int64_t>(rng() % 1'500); t = now; break;
            }
            if (t < now) {
                CHECK(h.late(key, t, "{}"));
            } else {
                h.ev(key, t, "{}");
            }
            for (int64_t s = (t / advance - 2 - size / advance) * advance; s <= t; s += advance)
                if (s <= t && t < s + size) ++want[{key, s}];
        }
        h.wm(INT64_MAX);
        std::map<std::pair<std::string, int64_t>, int> got;
        for (const Alert& a : h.alerts()) got[{a.key, a.window->first}] += static_cast<int>(Values(a).num("n"));
        CHECK(got == want);
    }
}

TEST_CASE("having filters results, on_update emits each change with distinct ids") {
    auto r = tumbling(60'000);
    r->window.having = std::make_shared<VarAbove>(1, 5);  // s > 5
    r->window.emit_when = EmitWhen::OnUpdate;
    Harness h(r);
    h.ev("a", 0, R"({"v": 4})");  // s = 4: filtered
    h.ev("a", 1, R"({"v": 3})");  // s = 7
    h.ev("a", 2, R"({"v": 1})");  // s = 8
    REQUIRE(h.alerts().size() == 2);
    CHECK(Values(h.alerts()[0]).num("s") == 7);
    CHECK(Values(h.alerts()[1]).num("s") == 8);
    CHECK(h.alerts()[0].id != h.alerts()[1].id);
    h.wm(1'000'000);  // on_update: nothing more at close
    CHECK(h.alerts().size() == 2);

    Harness again(r);  // ids are deterministic
    again.ev("a", 0, R"({"v": 4})");
    again.ev("a", 1, R"({"v": 3})");
    again.ev("a", 2, R"({"v": 1})");
    REQUIRE(again.alerts().size() == 2);
    CHECK(again.alerts()[0].id == h.alerts()[0].id);
    CHECK(again.alerts()[1].id == h.alerts()[1].id);
}

TEST_CASE("keys are independent and max_keys evicts the least recently updated") {
    auto r = tumbling(60'000);
    r->max_keys = 2;
    Harness h(r);
    h.ev("a", 0, R"({"v": 1})");
    h.ev("b", 1, R"({"v": 2})");
    h.ev("a", 2, R"({"v": 3})");
    h.ev("c", 3, R"({"v": 4})");  // evicts b
    CHECK(h.rt.counters().dropped_keys == 1);
    CHECK(h.rt.key_count() == 2);
    CHECK(h.rt.describe_key("b").find("no open windows") != std::string::npos);
    CHECK(h.rt.describe_key("a").find("2 events") != std::string::npos);
    CHECK(h.rt.state_bytes() > 0);
    h.wm(60'000);
    REQUIRE(h.alerts().size() == 2);
    CHECK(h.alerts()[0].key == "a");
    CHECK(Values(h.alerts()[0]).num("s") == 4);
    CHECK(h.alerts()[1].key == "c");
    CHECK(Values(h.alerts()[1]).num("s") == 4);
}

TEST_CASE("emit.throttle suppresses repeats per key in event time") {
    auto r = tumbling(1'000);
    r->emit.throttle_ms = 5'000;
    Harness h(r);
    for (int i = 0; i < 10; ++i) h.ev("a", i * 1'000, "{}");
    h.wm(10'000);
    REQUIRE(h.alerts().size() == 2);  // windows ending at 1000 and 6000
    CHECK(h.alerts()[0].time == 1'000);
    CHECK(h.alerts()[1].time == 6'000);
}
