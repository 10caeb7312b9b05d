#include <doctest/doctest.h>

#include "patterns/alert.h"
#include "patterns/emit.h"
#include "rules/json.h"

using namespace vigil;

namespace {
EventPtr event(uint32_t partition, uint64_t offset, const char* json) {
    auto e = std::make_shared<Event>();
    e->partition = partition;
    e->offset = offset;
    REQUIRE(e->doc.parse(json));
    return e;
}

Alert sample() {
    Alert a;
    a.rule = "card-testing";
    a.version = "a41c2e9d";
    a.kind = "match";
    a.key = "c1";
    a.severity = "high";
    a.time = 1767225720000;
    a.detected_at = 1767225720013;
    a.events = {{"small", {event(2, 1041, R"({"amount":1})"), event(2, 1042, R"({"amount":0.5})")}},
                {"big", {event(2, 1050, R"({"amount":900})")}}};
    return a;
}
}  // namespace

TEST_CASE("alert: JSON carries the SPEC section 6 fields, events and offsets per stage") {
    Alert a = sample();
    a.assign_id();
    JsonDoc d;
    REQUIRE(d.parse(a.to_json()));
    auto r = d.root();
    CHECK(r["id"].as_string() == a.id);
    CHECK(r["rule"].as_string() == "card-testing");
    CHECK(r["version"].as_string() == "a41c2e9d");
    CHECK(r["kind"].as_string() == "match");
    CHECK(r["key"].as_string() == "c1");
    CHECK(r["severity"].as_string() == "high");
    CHECK(r["time"].as_number() == 1767225720000.0);
    CHECK(r["detected_at"].as_number() == 1767225720013.0);
    CHECK(r["events"]["small"].at(1)["amount"].as_number() == 0.5);
    CHECK(r["offsets"]["small"].dump() == "[[2,1041],[2,1042]]");
    CHECK(r["offsets"]["big"].dump() == "[[2,1050]]");
    CHECK(r["payload"].dump() == "{}");
    CHECK_FALSE(r["window"].valid());
}

TEST_CASE("alert: the id depends on rule, version, key and matched offsets, not on wall time") {
    Alert a = sample(), b = sample();
    b.detected_at += 5000;
    a.assign_id();
    b.assign_id();
    CHECK(a.id.size() == 16);
    CHECK(a.id == b.id);
    Alert c = sample();
    c.version = "00000000";
    c.assign_id();
    CHECK(c.id != a.id);
    Alert d = sample();
    d.events[1].second[0] = event(2, 1051, R"({"amount":900})");
    d.assign_id();
    CHECK(d.id != a.id);
    Alert w = sample();
    w.kind = "window";
    w.events.clear();
    w.window = {{0, 60000}};
    w.assign_id();
    Alert w2 = w;
    w2.window = {{60000, 120000}};
    w2.assign_id();
    CHECK(w.id != w2.id);
}

TEST_CASE("render_topic fills placeholders and neutralises MQTT wildcards in values") {
    Alert a = sample();
    a.key = "a/b+c#";
    CHECK(render_topic("vigil/alerts/{rule}/{key}", a) == "vigil/alerts/card-testing/a_b_c_");
    CHECK(render_topic("{severity}/{kind}/{unknown}", a) == "high/match/{unknown}");
}

TEST_CASE("throttle: at most one alert per key per interval of event time") {
    Throttle t(60000);
    CHECK(t.allow("k1", 0));
    CHECK_FALSE(t.allow("k1", 59999));
    CHECK(t.allow("k2", 100));
    CHECK(t.allow("k1", 60000));
    CHECK_FALSE(t.allow("k1", 60001));
    Throttle off(0);
    CHECK(off.allow("k", 0));
    CHECK(off.allow("k", 0));
}

TEST_CASE("alert: EventList keeps order and ownership inside and past its inline room") {
    std::vector<EventPtr> evs;
    for (uint64_t i = 0; i < 7; ++i) evs.push_back(event(0, i, "{}"));
    auto offsets = [](const EventList& l) {
        std::vector<uint64_t> o;
        for (const auto& e : l) o.push_back(e->offset);
        return o;
    };
    for (size_t n = 0; n <= evs.size(); ++n) {
        CAPTURE(n);
        EventList l;
        for (size_t i = 0; i < n; ++i) l.push_back(evs[i]);
        std::vector<uint64_t> want(n);
        for (size_t i = 0; i < n; ++i) want[i] = i;
        REQUIRE(l.size() == n);
        CHECK(l.empty() == (n == 0));
        CHECK(offsets(l) == want);
        if (n) CHECK((l.front() == evs[0] && l.back() == evs[n - 1] && l[n / 2] == evs[n / 2]));
        for (size_t i = 0; i < n; ++i) CHECK(evs[i].use_count() == 2);  // held once by the list
        EventList copy(l);
        CHECK(offsets(copy) == want);
        for (size_t i = 0; i < n; ++i) CHECK(evs[i].use_count() == 3);
        EventList moved(std::move(copy));
        CHECK(offsets(moved) == want);
        CHECK(copy.empty());  // NOLINT(bugprone-use-after-move): moved-from lists are empty
        for (size_t i = 0; i < n; ++i) CHECK(evs[i].use_count() == 3);
        EventList assigned{evs[6]};
        assigned = std::move(moved);
        CHECK(offsets(assigned) == want);
        CHECK(evs[6].use_count() == (n == 7 ? 3 : 1));  // the event replaced was released
        assigned = l;
        CHECK(offsets(assigned) == want);
        l.push_back(evs[0]);  // lists are independent
        CHECK(assigned.size() == n);
    }
    for (const auto& e : evs) CHECK(e.use_count() == 1);
}
