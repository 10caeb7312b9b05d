// Session windows: gap, merging, closing at end + gap + grace.
#include <doctest/doctest.h>

#include "window_test_util.h"

using namespace vigil;
using namespace vigil::window_test;

namespace {

std::shared_ptr<Rule> session(int64_t gap, int64_t grace = 0) {
    auto r = window_rule(WindowType::Session,
                         {agg("n", "count"), agg("s", "sum", field("v")), agg("f", "first", field("v")),
                          agg("l", "last", field("v"))});
    r->window.gap_ms = gap;
    r->window.grace_ms = grace;
    return r;
}

}  // namespace

TEST_CASE("session: events at most gap apart form one session {first, last}") {
    Harness h(session(5));
    h.ev("a", 10, R"({"v": 1})");
    h.ev("a", 12, R"({"v": 2})");
    h.ev("a", 17, R"({"v": 3})");  // exactly gap after 12: joins
    h.ev("a", 30, R"({"v": 4})");  // a new session; the first closed at wm 30 > 17 + 5
    REQUIRE(h.alerts().size() == 1);
    const Alert& a = h.alerts()[0];
    CHECK(a.window == std::make_pair<int64_t, int64_t>(10, 17));
    CHECK(a.time == 17);
    CHECK(Values(a).num("n") == 3);
    CHECK(Values(a).num("s") == 6);
    CHECK(Values(a).num("f") == 1);
    CHECK(Values(a).num("l") == 3);
    h.wm(35);  // 35 is not > 30 + 5
    CHECK(h.alerts().size() == 1);
    h.wm(36);
    REQUIRE(h.alerts().size() == 2);
    CHECK(h.alerts()[1].window == std::make_pair<int64_t, int64_t>(30, 30));
    CHECK(h.rt.key_count() == 0);
}

TEST_CASE("session: an out-of-order event between two sessions merges them (Kafka Streams example)") {
    Harness h(session(5, 100));
    h.ev("A", 10, R"({"v": 1})");
    h.ev("A", 12, R"({"v": 2})");
    h.ev("A", 20, R"({"v": 3})");
    CHECK(h.rt.describe_key("A").find("[10, 12]") != std::string::npos);
    CHECK(h.rt.describe_key("A").find("[20, 20]") != std::string::npos);
    h.wm(25);
    CHECK(h.late("A", 16, R"({"v": 4})"));  // within 5 of 12 and of 20
    CHECK(h.rt.describe_key("A").find("[10, 20]") != std::string::npos);
    h.wm(1'000);
    REQUIRE(h.alerts().size() == 1);
    CHECK(h.alerts()[0].window == std::make_pair<int64_t, int64_t>(10, 20));
    CHECK(Values(h.alerts()[0]).num("n") == 4);
    CHECK(Values(h.alerts()[0]).num("s") == 10);
}

TEST_CASE("session: a late event for a closed session is refused, grace keeps it open") {
    Harness h(session(5, 10));
    h.ev("a", 100, "{}");
    h.wm(115);  // 115 = end + gap + grace: still open
    CHECK(h.alerts().empty());
    CHECK(h.late("a", 98, "{}"));
    h.wm(116);
    REQUIRE(h.alerts().size() == 1);
    CHECK(h.alerts()[0].window == std::make_pair<int64_t, int64_t>(98, 100));
    CHECK_FALSE(h.late("a", 99, "{}"));  // would have joined the closed session
    CHECK(h.rt.key_count() == 0);
}

TEST_CASE("session: a late event far from any session starts one while t + grace >= watermark") {
    Harness h(session(5, 10));
    h.ev("a", 100, "{}");
    h.ev("b", 200, "{}");  // closes a's session (200 > 115)
    REQUIRE(h.alerts().size() == 1);
    CHECK(h.late("a", 190, R"({"v": 7})"));   // 190 + 10 >= 200
    CHECK(h.late("a", 189, "{}"));            // joins the open session at 190
    CHECK_FALSE(h.late("c", 180, "{}"));      // 180 + 10 < 200
    h.wm(1'000);
    REQUIRE(h.alerts().size() == 3);
    CHECK(h.alerts()[1].key == "a");
    CHECK(h.alerts()[1].window == std::make_pair<int64_t, int64_t>(189, 190));
    CHECK(h.alerts()[2].key == "b");
}

TEST_CASE("session: on_update emits the growing session with distinct ids") {
    auto r = session(5);
    r->window.emit_when = EmitWhen::OnUpdate;
    Harness h(r);
    h.ev("a", 1, "{}");
    h.ev("a", 3, "{}");
    REQUIRE(h.alerts().size() == 2);
    CHECK(h.alerts()[0].window == std::make_pair<int64_t, int64_t>(1, 1));
    CHECK(h.alerts()[1].window == std::make_pair<int64_t, int64_t>(1, 3));
    CHECK(h.alerts()[0].id != h.alerts()[1].id);
    h.wm(100);
    CHECK(h.alerts().size() == 2);
}

TEST_CASE("session: keys have separate sessions, closed in order of their close time") {
    Harness h(session(5));
    h.ev("a", 1, "{}");
    h.ev("b", 2, "{}");
    h.ev("a", 4, "{}");
    h.wm(100);
    REQUIRE(h.alerts().size() == 2);
    CHECK(h.alerts()[0].key == "b");  // closes at 2 + 5
    CHECK(Values(h.alerts()[0]).num("n") == 1);
    CHECK(h.alerts()[1].key == "a");  // closes at 4 + 5
    CHECK(Values(h.alerts()[1]).num("n") == 2);
}
