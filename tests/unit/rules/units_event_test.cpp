#include <doctest/doctest.h>

#include "rules/diagnostics.h"
#include "rules/event.h"
#include "rules/hash.h"
#include "rules/units.h"

using namespace vigil;

TEST_CASE("units: durations, sizes and RFC 3339") {
    CHECK(parse_duration_ms("500ms") == 500);
    CHECK(parse_duration_ms("5s") == 5000);
    CHECK(parse_duration_ms("10m") == 600000);
    CHECK(parse_duration_ms("2h") == 7200000);
    CHECK(parse_duration_ms("7d") == 604800000);
    CHECK(parse_duration_ms("1.5s") == 1500);
    CHECK_FALSE(parse_duration_ms("10"));
    CHECK_FALSE(parse_duration_ms("10 s"));
    CHECK_FALSE(parse_duration_ms("-5s"));
    CHECK_FALSE(parse_duration_ms("99999999999999999999d"));
    CHECK(parse_size_bytes("512MiB") == 512ULL << 20);
    CHECK(parse_size_bytes("4GiB") == 4ULL << 30);
    CHECK(parse_size_bytes("1KB") == 1000);
    CHECK_FALSE(parse_size_bytes("4 GiB"));
    CHECK_FALSE(parse_size_bytes("99999999999TiB"));
    CHECK(format_duration(600000) == "10m");
    CHECK(format_duration(1500) == "1500ms");
    CHECK(parse_rfc3339_ms("2026-01-01T00:00:00Z") == 1767225600000);
    CHECK(parse_rfc3339_ms("2026-01-01T01:00:00.250+01:00") == 1767225600250);
    CHECK(parse_rfc3339_ms("1969-12-31T23:59:59Z") == -1000);
    CHECK_FALSE(parse_rfc3339_ms("2026-01-01"));
    CHECK_FALSE(parse_rfc3339_ms("2026-13-01T00:00:00Z"));
    CHECK(format_rfc3339_ms(1767225600250) == "2026-01-01T00:00:00.250Z");
    CHECK(parse_time_arg_ms("1767225600000") == 1767225600000);
}

TEST_CASE("topic filters: + and #, and $share prefixes") {
    CHECK(topic_matches("factory/+/telemetry", "factory/p1/telemetry"));
    CHECK_FALSE(topic_matches("factory/+/telemetry", "factory/p1/x/telemetry"));
    CHECK(topic_matches("factory/#", "factory"));
    CHECK(topic_matches("factory/#", "factory/a/b"));
    CHECK_FALSE(topic_matches("factory/a", "factory"));
    CHECK_FALSE(topic_matches("factory", "factory/a"));
    CHECK(topic_matches("$share/g/bank/tx", "bank/tx"));
    CHECK(topic_matches("#", "anything/at/all"));
}

namespace {
StreamSpec sensors() {
    StreamSpec s;
    s.name = "sensors";
    FieldPath k;
    REQUIRE(FieldPath::parse("device", k, nullptr));
    s.key = {k};
    REQUIRE(FieldPath::parse("ts", s.time_field, nullptr));
    return s;
}
}  // namespace

TEST_CASE("extract_event: key, event time and every reject reason") {
    StreamSpec s = sensors();
    Event ev;
    std::string why;
    CHECK(extract_event(s, "f/p1/t", R"({"device":"p1","ts":1767225600123})", 5, ev, &why) == RejectReason::None);
    CHECK(ev.key == "p1");
    CHECK(ev.time == 1767225600123);
    CHECK(ev.ingest_time == 5);
    CHECK(ev.stream == "sensors");
    CHECK(ev.topic == "f/p1/t");
    CHECK(ev.key_hashed);  // the rules' key indexes take it instead of hashing the key again
    CHECK(ev.key_hash == index_hash("p1"));

    CHECK(extract_event(s, "t", "not json", 5, ev, &why) == RejectReason::NotJson);
    CHECK(why == "not JSON at byte 0: invalid literal");
    CHECK(extract_event(s, "t", "[1]", 5, ev, &why) == RejectReason::NotObject);
    CHECK(extract_event(s, "t", R"({"ts":1})", 5, ev, &why) == RejectReason::NoKey);
    CHECK_FALSE(ev.key_hashed);
    CHECK(extract_event(s, "t", R"({"device":"p","ts":"x"})", 5, ev, &why) == RejectReason::BadTime);
    // A missing time falls back to ingest time unless the stream says reject.
    CHECK(extract_event(s, "t", R"({"device":"p"})", 77, ev, &why) == RejectReason::None);
    CHECK(ev.time == 77);
    s.on_missing = OnMissingTime::Reject;
    CHECK(extract_event(s, "t", R"({"device":"p"})", 77, ev, &why) == RejectReason::NoTime);
    s.max_event_bytes = 4;
    CHECK(extract_event(s, "t", R"({"device":"p"})", 77, ev, &why) == RejectReason::TooLarge);
}

TEST_CASE("extract_event: time formats, topic-segment and compound keys") {
    StreamSpec s = sensors();
    Event ev;
    s.time_format = TimeFormat::EpochS;
    REQUIRE(extract_event(s, "t", R"({"device":"p","ts":1767225600.5})", 0, ev, nullptr) == RejectReason::None);
    CHECK(ev.time == 1767225600500);
    s.time_format = TimeFormat::Rfc3339;
    REQUIRE(extract_event(s, "t", R"({"device":"p","ts":"2026-01-01T00:00:01Z"})", 0, ev, nullptr) ==
            RejectReason::None);
    CHECK(ev.time == 1767225601000);

    FieldPath seg, site;
    REQUIRE(FieldPath::parse("topic[1]", seg, nullptr));
    REQUIRE(FieldPath::parse("meta.site", site, nullptr));
    s.key = {seg, site};
    s.time_field = FieldPath{};
    REQUIRE(extract_event(s, "factory/p9/telemetry", R"({"meta":{"site":7}})", 3, ev, nullptr) == RejectReason::None);
    CHECK(ev.key == "p9|7");
}

TEST_CASE("hash: stable across runs (alert ids and partitions depend on it)") {
    CHECK(hex_digits(stable_hash64("card-testing"), 16) == hex_digits(stable_hash64("card-testing"), 16));
    CHECK(stable_hash64("a") != stable_hash64("b"));
    CHECK(hex_digits(0xabc, 8) == "00000abc");
    // Pinned values: changing the function would change every alert id and the
    // partition of every key in existing data folders.
    CHECK(hex_digits(stable_hash64("card-testing"), 16) == "8582bb29c200bdb3");
    CHECK(hex_digits(stable_hash64(""), 16) == "4ea0537ff367da6b");
}

TEST_CASE("did you mean: typos, swapped letters, and nothing when nothing is close") {
    std::vector<std::string> keys = {"host", "port", "partitions", "protocol"};
    CHECK(closest_match("partitons", keys) == "partitions");
    CHECK(closest_match("hots", keys) == "host");
    CHECK(closest_match("prot", keys) == "port");
    CHECK(closest_match("zzzzzz", keys).empty());
}
