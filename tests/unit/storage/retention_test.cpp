#include <doctest/doctest.h>

#include <atomic>

#include "temp_dir.h"

using namespace vigil;
using test::event;
using test::small_log;
using test::TempDir;

namespace {

uint64_t count_time_index(const EventLog& log, uint32_t p) {
    uint64_t n = 0;
    log.scan_time(p, INT64_MIN, INT64_MAX, 0, [&](const RecordView&) { return ++n, true; });
    return n;
}

}  // namespace

TEST_CASE("retention: max_age deletes by ingest time from the head, log and time index, in bounded batches") {
    TempDir tmp;
    std::string dir = tmp.sub("data");
    auto clock = std::make_shared<std::atomic<int64_t>>(0);
    LogOptions o = small_log(dir, 2);
    o.retention_max_age_ms = 50;
    o.retention_batch = 7;  // several transactions
    o.retention_interval_ms = 3600'000;
    o.now_ms = [clock] { return clock->load(); };
    {
        auto log = EventLog::open(o, nullptr);
        REQUIRE(log);
        std::vector<AppendRequest> batch;
        for (int i = 0; i < 100; ++i) {
            AppendRequest r = event(0, 5000 - i, "r" + std::to_string(i + 1));  // event times descend
            r.ingest_time = 1000 + i;
            batch.push_back(r);
        }
        REQUIRE(log->append_batch(std::move(batch)).get().ok);
        clock->store(1100);  // cutoff 1050: records ingested at 1000..1049 go
        REQUIRE(log->run_retention().get().ok);
        CHECK(log->first_offset(0) == 51);
        CHECK(log->last_offset(0) == 100);
        CHECK(count_time_index(*log, 0) == 50);
        CHECK(log->map_info().retention_deleted == 50);
        std::vector<Record> recs;
        REQUIRE(log->read(0, 1, 1, recs).ok);
        CHECK(recs.at(0).payload == "r51");

        clock->store(10'000);  // everything is old now
        REQUIRE(log->run_retention().get().ok);
        CHECK(log->first_offset(0) == 0);
        CHECK(count_time_index(*log, 0) == 0);
        CHECK(log->last_offset(0) == 100);
    }
    // An emptied partition keeps its end offset: offsets are never reused.
    {
        LogOptions ro = o;
        ro.read_only = true;
        auto reader = EventLog::open(ro, nullptr);
        REQUIRE(reader);
        CHECK(reader->last_offset(0) == 100);
        CHECK(reader->first_offset(0) == 0);
    }
    o.retention_max_age_ms = 0;
    auto log = EventLog::open(o, nullptr);
    REQUIRE(log);
    CHECK(log->last_offset(0) == 100);
    auto r = log->append(event(0, 1, "new")).get();
    CHECK(r.offset == 101);
}

TEST_CASE("retention: max_bytes trims the oldest data first until the log fits") {
    TempDir tmp;
    LogOptions o = small_log(tmp.sub("data"), 2);
    o.retention_max_bytes = 256 << 10;
    o.retention_batch = 500;
    o.retention_interval_ms = 3600'000;
    auto log = EventLog::open(o, nullptr);
    REQUIRE(log);
    std::string payload(500, 'p');
    std::vector<AppendRequest> batch;
    for (int i = 0; i < 2000; ++i) {  // ~1 MB; partition 0 written (ingested) first
        AppendRequest r = event(i < 1000 ? 0 : 1, i, payload);
        r.ingest_time = i;
        batch.push_back(r);
    }
    REQUIRE(log->append_batch(std::move(batch)).get().ok);
    PartitionStats s0, s1;
    REQUIRE(log->stats(0, s0).ok);
    REQUIRE(log->stats(1, s1).ok);
    CHECK(s0.bytes + s1.bytes > o.retention_max_bytes);

    REQUIRE(log->run_retention().get().ok);
    REQUIRE(log->stats(0, s0).ok);
    REQUIRE(log->stats(1, s1).ok);
    CHECK(s0.bytes + s1.bytes <= o.retention_max_bytes);
    CHECK(s0.records == 0);         // the oldest partition went first
    CHECK(s1.records > 100);        // newest data kept
    CHECK(s1.last_offset == 1000);  // never from the tail
    CHECK(count_time_index(*log, 1) == s1.records);
}

TEST_CASE("retention: runs from the writer on its own and ingest keeps going") {
    TempDir tmp;
    auto clock = std::make_shared<std::atomic<int64_t>>(1'000'000);
    LogOptions o = small_log(tmp.sub("data"), 1);
    o.retention_max_age_ms = 1000;
    o.retention_batch = 10;
    o.retention_interval_ms = 1;
    o.now_ms = [clock] { return clock->load(); };
    auto log = EventLog::open(o, nullptr);
    REQUIRE(log);
    std::vector<AppendRequest> old;
    for (int i = 0; i < 300; ++i) {
        AppendRequest r = event(0, i, "old");
        r.ingest_time = 0;
        old.push_back(r);
    }
    REQUIRE(log->append_batch(std::move(old)).get().ok);
    clock->store(1'000'010);  // past the first check (one interval after open)
    // Each group is followed by one bounded retention batch (10 records) while a
    // backlog remains, so ~30 appends clear the 300 old records.
    uint64_t last = 0;
    for (int i = 0; i < 2000 && log->first_offset(0) <= 300; ++i) {
        clock->fetch_add(1);  // time goes on, so a check is always due again
        AppendRequest r = event(0, i, "new");
        r.ingest_time = 1'000'000;
        auto res = log->append(r).get();
        REQUIRE(res.ok);
        last = res.offset;
    }
    CHECK(log->first_offset(0) == 301);
    CHECK(last > 300);
}
