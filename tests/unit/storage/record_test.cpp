#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "storage/record.h"

using namespace vigil;

TEST_CASE("record: header and payload round-trip, truncation is refused") {
    std::string v;
    encode_record(-5, 1767225720013, "sensors", "dev-1", "factory/a/telemetry", R"({"t":1})", v);
    CHECK(v.size() == kRecordHeaderBytes + 7 + 5 + 19 + 7);
    RecordView r;
    REQUIRE(decode_record(v, r));
    CHECK(r.event_time == -5);
    CHECK(r.ingest_time == 1767225720013);
    CHECK(r.stream == "sensors");
    CHECK(r.key == "dev-1");
    CHECK(r.topic == "factory/a/telemetry");
    CHECK(r.payload == R"({"t":1})");
    CHECK_FALSE(decode_record(std::string_view(v).substr(0, kRecordHeaderBytes + 10), r));
    std::string bad = v;
    bad[0] = 9;  // unknown format
    CHECK_FALSE(decode_record(bad, r));
}

TEST_CASE("record: big-endian offsets and signed times sort as numbers under memcmp") {
    std::vector<uint64_t> offs = {1, 255, 256, 257, 65536, 1ULL << 40};
    for (size_t i = 1; i < offs.size(); ++i) CHECK(be64_key(offs[i - 1]) < be64_key(offs[i]));
    CHECK(get_be64(be64_key(1ULL << 40).data()) == (1ULL << 40));

    std::vector<int64_t> times = {INT64_MIN, -1000, -1, 0, 1, 1767225720000, INT64_MAX};
    std::vector<std::string> keys;
    for (int64_t t : times) {
        char k[16];
        encode_time_key(t, 7, k);
        keys.emplace_back(k, 16);
        int64_t back;
        uint64_t off;
        decode_time_key(keys.back(), back, off);
        CHECK(back == t);
        CHECK(off == 7);
    }
    CHECK(std::is_sorted(keys.begin(), keys.end()));
}

TEST_CASE("record: consumer offset, state, alert and outbox encodings") {
    std::string consumer;
    uint32_t p = 0;
    REQUIRE(decode_offsets_key(offsets_key("engine", 300), consumer, p));
    CHECK(consumer == "engine");
    CHECK(p == 300);
    CHECK(state_key("r1", 2, "dev").rfind(state_prefix("r1", 2), 0) == 0);
    CHECK(state_prefix("r1", 2) != state_prefix("r1x", 2));
    CHECK(alert_key(-1, "b") < alert_key(0, "a"));

    std::string_view topic, json;
    int qos = 0;
    std::string ob = encode_outbox("vigil/alerts/r/k", 1, R"({"id":"x"})");
    REQUIRE(decode_outbox(ob, topic, qos, json));
    CHECK(topic == "vigil/alerts/r/k");
    CHECK(qos == 1);
    CHECK(json == R"({"id":"x"})");
    CHECK_FALSE(decode_outbox("\x01\x09", topic, qos, json));

    // With the alerts key (what retention must keep while the entry waits).
    std::string_view key = "unset";
    REQUIRE(decode_outbox(ob, topic, qos, json, &key));
    CHECK(key.empty());
    std::string ak = alert_key(42, "abc");
    std::string ok = encode_outbox("t", 0, R"({"id":"abc"})", ak);
    REQUIRE(decode_outbox(ok, topic, qos, json, &key));
    CHECK(topic == "t");
    CHECK(qos == 0);
    CHECK(key == ak);
    CHECK(json == R"({"id":"abc"})");
    CHECK_FALSE(decode_outbox(ok.substr(0, 6), topic, qos, json, &key));  // cut inside the key
}
