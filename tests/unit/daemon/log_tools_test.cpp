#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "daemon/log_tools.h"
#include "../storage/temp_dir.h"

using namespace vigil;

namespace {

StreamSpec sensors() {
    StreamSpec s;
    s.name = "sensors";
    s.topics = {"factory/line1/telemetry"};
    FieldPath key, time;
    REQUIRE(FieldPath::parse("device", key, nullptr));
    REQUIRE(FieldPath::parse("ts", time, nullptr));
    s.key = {key};
    s.time_field = time;
    s.on_missing = OnMissingTime::Reject;
    return s;
}

Config config_in(const std::string& dir) {
    Config c;
    c.data_dir = dir;
    c.partitions = 4;
    c.map_size = 16 << 20;
    return c;
}

}  // namespace

TEST_CASE("log tools: ingest extracts key and time like live ingest, rejects bad lines, skips watermarks") {
    test::TempDir tmp;
    Config cfg = config_in(tmp.path() + "/data");
    auto log = EventLog::open(log_options_for(cfg, false), nullptr);
    REQUIRE(log);
    std::istringstream in(
        "{\"device\":\"d1\",\"ts\":1000,\"v\":1}\n"
        "\n"
        "{\"$watermark\": 2000}\n"
        "not json\n"
        "{\"ts\":1500}\n"
        "{\"device\":\"d1\",\"ts\":1200,\"v\":2}\r\n"
        "{\"device\":\"d2\",\"ts\":900,\"v\":3}\n");
    std::ostringstream err;
    IngestOptions opts;
    opts.batch = 2;
    IngestSummary s = ingest_jsonl(*log, sensors(), in, opts, err, [] { return int64_t(42); });
    CHECK(s.error == "");
    CHECK(s.lines == 7);
    CHECK(s.ingested == 3);
    CHECK(s.rejected == 2);
    CHECK(s.watermarks == 1);
    CHECK(s.blank == 1);
    CHECK(err.str().find("line 4: rejected (") != std::string::npos);
    CHECK(err.str().find("line 5: rejected (") != std::string::npos);

    uint32_t p1 = log->partition_for_key("d1");
    std::vector<Record> recs;
    REQUIRE(log->read(p1, 1, 0, recs).ok);
    std::vector<Record> d1;
    for (auto& r : recs)
        if (r.key == "d1") d1.push_back(r);
    REQUIRE(d1.size() == 2);
    CHECK(d1[0].event_time == 1000);
    CHECK(d1[1].event_time == 1200);
    CHECK(d1[1].payload == "{\"device\":\"d1\",\"ts\":1200,\"v\":2}");
    CHECK(d1[0].ingest_time == 42);
    CHECK(d1[0].stream == "sensors");
    CHECK(d1[0].topic == "factory/line1/telemetry");
}

TEST_CASE("log tools: dump prints one JSON object per record, from an offset or an event time") {
    test::TempDir tmp;
    Config cfg = config_in(tmp.path() + "/data");
    auto log = EventLog::open(log_options_for(cfg, false), nullptr);
    REQUIRE(log);
    std::vector<AppendRequest> batch;
    for (int i = 0; i < 5; ++i) {
        AppendRequest r;
        r.partition = 1;
        r.event_time = 1767225600000 + i * 1000;
        r.stream = "sensors";
        r.key = "d\"1";
        r.payload = "{\"i\":" + std::to_string(i) + "}";
        batch.push_back(r);
    }
    batch[4].payload = "raw text";
    REQUIRE(log->append_batch(batch).get().ok);

    DumpOptions d;
    d.partition = 1;
    REQUIRE(parse_from_arg("4", d));
    std::ostringstream out;
    REQUIRE(dump_records(*log, d, out).ok);
    CHECK(out.str() ==
          "{\"partition\":1,\"offset\":4,\"time\":1767225603000,\"ingest_time\":0,\"stream\":\"sensors\","
          "\"key\":\"d\\\"1\",\"topic\":\"\",\"payload\":{\"i\":3}}\n"
          "{\"partition\":1,\"offset\":5,\"time\":1767225604000,\"ingest_time\":0,\"stream\":\"sensors\","
          "\"key\":\"d\\\"1\",\"topic\":\"\",\"payload\":\"raw text\"}\n");

    DumpOptions byt;
    REQUIRE(parse_from_arg("2026-01-01T00:00:03Z", byt));
    REQUIRE(byt.from_time.has_value());
    byt.limit = 1;
    std::ostringstream out2;
    REQUIRE(dump_records(*log, byt, out2).ok);
    std::string text = out2.str();
    CHECK(text.find("\"offset\":4,") != std::string::npos);
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);

    DumpOptions epoch;
    REQUIRE(parse_from_arg("1767225603000", epoch));
    CHECK(epoch.from_time == 1767225603000);
    CHECK_FALSE(parse_from_arg("yesterday", epoch));

    std::ostringstream st;
    CommitBatch cb;
    cb.offsets.push_back({"engine", 1, 3});
    REQUIRE(log->commit_batch(cb).get().ok);
    REQUIRE(print_log_stat(*log, st).ok);
    CHECK(st.str().find("\n1 5 ") != std::string::npos);                // partition 1: 5 records
    CHECK(st.str().find("2026-01-01T00:00:00") != std::string::npos);   // first event time
    CHECK(st.str().find("engine 1 3 2\n") != std::string::npos);        // lag 2
    CHECK(st.str().find("outbox 0 alert(s)") != std::string::npos);
}
