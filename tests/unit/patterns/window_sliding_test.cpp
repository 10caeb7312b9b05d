// Sliding windows (t - size, t] and count windows.
#include <doctest/doctest.h>

#include "window_test_util.h"

using namespace vigil;
using namespace vigil::test::windows;

namespace {

std::shared_ptr<Rule> sliding(int64_t size) {
    auto r = window_rule(WindowType::Sliding, {agg("n", "count"), agg("lo", "min", field("v")),
                                                agg("hi", "max", field("v")), agg("s", "sum", field("v"))});
    r->window.size_ms = size;
    return r;
}

std::shared_ptr<Rule> count_window(uint64_t size, uint64_t slide) {
    auto r = window_rule(WindowType::Count, {agg("n", "count"), agg("s", "sum", field("v"))});
    r->window.count_size = size;
    r->window.count_slide = slide;
    return r;
}

}  // namespace

TEST_CASE("sliding: evaluated at each event over (t - size, t]") {
    Harness h(sliding(10));
    h.ev("a", 0, R"({"v": 5})");
    h.ev("a", 5, R"({"v": 3})");
    h.ev("a", 10, R"({"v": 4})");  // 0 is out: (0, 10]
    h.ev("a", 11, R"({"v": 9})");
    REQUIRE(h.alerts().size() == 4);
    Values v2(h.alerts()[2]);
    CHECK(h.alerts()[2].window == std::make_pair<int64_t, int64_t>(0, 10));
    CHECK(h.alerts()[2].time == 10);
    CHECK(v2.num("n") == 2);
    CHECK(v2.num("lo") == 3);
    CHECK(v2.num("hi") == 4);
    Values v3(h.alerts()[3]);
    CHECK(v3.num("n") == 3);
    CHECK(v3.num("lo") == 3);
    CHECK(v3.num("hi") == 9);
    CHECK(v3.num("s") == 16);
    CHECK(h.alerts()[2].id != h.alerts()[3].id);
}

TEST_CASE("sliding: min and max follow the window as old extremes leave") {
    Harness h(sliding(3));
    const double vals[] = {9, 1, 5, 7, 2, 8, 6, 3};
    for (int i = 0; i < 8; ++i) h.ev("a", i, "{\"v\": " + std::to_string(vals[i]) + "}");
    REQUIRE(h.alerts().size() == 8);
    for (int i = 0; i < 8; ++i) {
        double lo = vals[i], hi = vals[i];
        for (int j = std::max(0, i - 2); j <= i; ++j) {
            lo = std::min(lo, vals[j]);
            hi = std::max(hi, vals[j]);
        }
        Values v(h.alerts()[static_cast<size_t>(i)]);
        CHECK(v.num("lo") == lo);
        CHECK(v.num("hi") == hi);
    }
}

TEST_CASE("sliding: a key's state expires once the watermark leaves its last event behind") {
    Harness h(sliding(10));
    h.ev("a", 0, R"({"v": 1})");
    CHECK(h.rt.key_count() == 1);
    h.wm(9);
    CHECK(h.rt.key_count() == 1);
    h.wm(10);
    CHECK(h.rt.key_count() == 0);
    CHECK_FALSE(h.late("a", 5, R"({"v": 1})"));  // sliding windows take no late events
}

TEST_CASE("sliding: having on the window's max") {
    auto r = sliding(100);
    r->window.having = std::make_shared<VarAbove>(2, 50);  // hi > 50
    Harness h(r);
    h.ev("a", 0, R"({"v": 10})");
    h.ev("a", 50, R"({"v": 60})");
    h.ev("a", 120, R"({"v": 20})");  // 60 still inside (20, 120]
    h.ev("a", 151, R"({"v": 20})");  // (51, 151]: 60 gone
    REQUIRE(h.alerts().size() == 2);
    CHECK(h.alerts()[0].time == 50);
    CHECK(h.alerts()[1].time == 120);
}

TEST_CASE("count: tumbling by count emits every size events") {
    Harness h(count_window(3, 0));
    for (int i = 1; i <= 7; ++i) h.ev("a", i * 10, "{\"v\": " + std::to_string(i) + "}");
    REQUIRE(h.alerts().size() == 2);
    CHECK(Values(h.alerts()[0]).num("s") == 6);
    CHECK(h.alerts()[0].window == std::make_pair<int64_t, int64_t>(10, 30));
    CHECK(Values(h.alerts()[1]).num("s") == 15);
    h.wm(1'000'000);  // an incomplete count window is never emitted
    CHECK(h.alerts().size() == 2);
    CHECK(h.rt.describe_key("a").find("1 events") != std::string::npos);
}

TEST_CASE("count: sliding by count (size 3, slide 1) gives overlapping full windows") {
    Harness h(count_window(3, 1));
    for (int i = 1; i <= 5; ++i) h.ev("a", i, "{\"v\": " + std::to_string(i) + "}");
    REQUIRE(h.alerts().size() == 3);
    CHECK(Values(h.alerts()[0]).num("s") == 6);
    CHECK(Values(h.alerts()[1]).num("s") == 9);
    CHECK(Values(h.alerts()[2]).num("s") == 12);
    CHECK(h.alerts()[0].id != h.alerts()[1].id);
}
