#include <doctest/doctest.h>

#include <algorithm>
#include <thread>

#include "rules/hash.h"
#include "temp_dir.h"

using namespace vigil;
using test::event;
using test::small_log;
using test::TempDir;

TEST_CASE("log: append, read back and offsets start at 1 per partition") {
    TempDir tmp;
    std::string err;
    auto log = EventLog::open(small_log(tmp.sub("data")), &err);
    REQUIRE_MESSAGE(log, err);
    CHECK(log->last_offset(0) == 0);
    CHECK(log->first_offset(0) == 0);

    auto a = log->append(event(0, 100, R"({"v":1})")).get();
    auto b = log->append(event(0, 101, R"({"v":2})")).get();
    auto c = log->append(event(2, 102, R"({"v":3})")).get();
    REQUIRE(a.ok);
    REQUIRE(b.ok);
    REQUIRE(c.ok);
    CHECK(a.offset == 1);
    CHECK(b.offset == 2);
    CHECK(c.partition == 2);
    CHECK(c.offset == 1);
    CHECK(log->last_offset(0) == 2);
    CHECK(log->first_offset(0) == 1);

    std::vector<Record> recs;
    REQUIRE(log->read(0, 0, 0, recs).ok);
    REQUIRE(recs.size() == 2);
    CHECK(recs[0].offset == 1);
    CHECK(recs[1].offset == 2);
    CHECK(recs[1].payload == R"({"v":2})");
    CHECK(recs[1].event_time == 101);
    CHECK(recs[1].stream == "sensors");
    CHECK(recs[1].key == "k");
    CHECK(recs[1].topic == "factory/a/telemetry");
    CHECK(recs[1].partition == 0);

    recs.clear();
    REQUIRE(log->read(0, 2, 10, recs).ok);  // from an offset
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].offset == 2);

    auto bad = log->append(event(9, 1, "{}")).get();
    CHECK_FALSE(bad.ok);
    CHECK(bad.error.find("partition 9 does not exist") != std::string::npos);
    std::vector<Record> none;
    CHECK_FALSE(log->read(9, 0, 0, none).ok);
}

TEST_CASE("log: partition_for_key is stable_hash64 modulo the partition count") {
    TempDir tmp;
    auto log = EventLog::open(small_log(tmp.sub("data"), 8), nullptr);
    REQUIRE(log);
    for (std::string key : {"", "dev-1", "card-42", "c1"})
        CHECK(log->partition_for_key(key) == stable_hash64(key) % 8);
    // Appends without a partition land on the key's partition.
    AppendRequest r = event(kPartitionByKey, 5, "{}", "card-42");
    auto res = log->append(r).get();
    REQUIRE(res.ok);
    CHECK(res.partition == log->partition_for_key("card-42"));
}

TEST_CASE("log: reopen keeps data and offsets continue, another partition count is refused") {
    TempDir tmp;
    std::string dir = tmp.sub("data"), err;
    {
        auto log = EventLog::open(small_log(dir, 4), &err);
        REQUIRE_MESSAGE(log, err);
        std::vector<AppendRequest> batch;
        for (int i = 0; i < 10; ++i) batch.push_back(event(1, i, "e" + std::to_string(i)));
        REQUIRE(log->append_batch(std::move(batch)).get().ok);
    }
    {
        auto log = EventLog::open(small_log(dir, 4), &err);
        REQUIRE_MESSAGE(log, err);
        CHECK(log->last_offset(1) == 10);
        auto r = log->append(event(1, 99, "after")).get();
        CHECK(r.offset == 11);
        std::vector<Record> recs;
        REQUIRE(log->read(1, 1, 0, recs).ok);
        REQUIRE(recs.size() == 11);
        CHECK(recs[3].payload == "e3");
    }
    auto refused = EventLog::open(small_log(dir, 8), &err);
    CHECK_FALSE(refused);
    CHECK(err.find("created with 4 partitions") != std::string::npos);
    CHECK(err.find("asks for 8") != std::string::npos);

    LogOptions adopt = small_log(dir, 0);  // 0: take the stored count
    adopt.read_only = true;
    auto ro = EventLog::open(adopt, &err);
    REQUIRE_MESSAGE(ro, err);
    CHECK(ro->partitions() == 4);
    CHECK(ro->last_offset(1) == 11);
    auto w = ro->append(event(1, 1, "x")).get();
    CHECK_FALSE(w.ok);
    CHECK(w.error.find("read-only") != std::string::npos);

    LogOptions missing = small_log(tmp.sub("nothing-here"), 0);
    missing.read_only = true;
    CHECK_FALSE(EventLog::open(missing, &err));
}

// Mostly in order, as live data is: the scan steps the log cursor to the next record
// and seeks only where time order and log order part.
TEST_CASE("log: a time scan of mostly ordered events gives the records of (time, offset) order") {
    TempDir tmp;
    LogOptions o = small_log(tmp.sub("data"));
    o.read_chunk = 7;
    auto log = EventLog::open(o, nullptr);
    REQUIRE(log);
    std::vector<std::pair<int64_t, uint64_t>> all;
    std::vector<AppendRequest> batch;
    for (uint64_t i = 1; i <= 300; ++i) {
        auto t = static_cast<int64_t>(i * 10);
        if (i % 17 == 0) t -= 95;  // now and then a late one
        if (i % 50 == 0) t += 1000;  // or an early one
        all.emplace_back(t, i);
        batch.push_back(event(0, t, "o" + std::to_string(i)));
    }
    REQUIRE(log->append_batch(std::move(batch)).get().ok);
    std::sort(all.begin(), all.end());
    for (auto [from, to] : std::vector<std::pair<int64_t, int64_t>>{{INT64_MIN, INT64_MAX}, {500, 1500}, {2995, 3001}}) {
        std::vector<std::pair<int64_t, uint64_t>> got, want;
        for (auto& e : all)
            if (e.first >= from && e.first < to) want.push_back(e);
        REQUIRE(log->scan_time(0, from, to, 0, [&](const RecordView& r) {
                       CHECK(r.payload == "o" + std::to_string(r.offset));
                       got.emplace_back(r.event_time, r.offset);
                       return true;
                   }).ok);
        CHECK(got == want);
        CHECK(!want.empty());
    }
}

TEST_CASE("log: time index reads an event-time range in time order, across read chunks") {
    TempDir tmp;
    LogOptions o = small_log(tmp.sub("data"));
    o.read_chunk = 3;  // force several read transactions per scan
    auto log = EventLog::open(o, nullptr);
    REQUIRE(log);
    std::vector<int64_t> times = {50, 10, 30, 20, 40, 10, -5, 45, 15, 30};
    std::vector<AppendRequest> batch;
    for (size_t i = 0; i < times.size(); ++i) batch.push_back(event(0, times[i], "o" + std::to_string(i + 1)));
    REQUIRE(log->append_batch(std::move(batch)).get().ok);

    std::vector<std::pair<int64_t, uint64_t>> got;
    auto collect = [&](const RecordView& r) {
        got.emplace_back(r.event_time, r.offset);
        CHECK(r.payload == "o" + std::to_string(r.offset));
        return true;
    };
    REQUIRE(log->scan_time(0, 15, 45, 0, collect).ok);
    std::vector<std::pair<int64_t, uint64_t>> want = {{15, 9}, {20, 4}, {30, 3}, {30, 10}, {40, 5}};
    CHECK(got == want);

    got.clear();
    REQUIRE(log->scan_time(0, INT64_MIN, INT64_MAX, 4, collect).ok);  // limit
    want = {{-5, 7}, {10, 2}, {10, 6}, {15, 9}};
    CHECK(got == want);

    uint64_t n = 0;
    bool dense = true;
    REQUIRE(log->scan(0, 1, 0, [&](const RecordView& r) { return dense = dense && r.offset == ++n, true; }).ok);
    CHECK(dense);
    CHECK(n == times.size());

    PartitionStats st;
    REQUIRE(log->stats(0, st).ok);
    CHECK(st.records == 10);
    CHECK(st.first_offset == 1);
    CHECK(st.last_offset == 10);
    CHECK(st.first_event_time == 50);
    CHECK(st.last_event_time == 30);
    CHECK(st.min_event_time == -5);
    CHECK(st.max_event_time == 50);
    CHECK(st.bytes > 0);
}

TEST_CASE("log: wait_for wakes a consumer when a commit lands, and times out otherwise") {
    TempDir tmp;
    auto log = EventLog::open(small_log(tmp.sub("data")), nullptr);
    REQUIRE(log);
    CHECK_FALSE(log->wait_for(3, 0, std::chrono::milliseconds(10)));
    bool woke = false;
    std::thread consumer([&] { woke = log->wait_for(3, 0, std::chrono::seconds(10)); });
    auto r = log->append(event(3, 1, "{}")).get();
    consumer.join();
    CHECK(r.ok);
    CHECK(woke);
    CHECK(log->wait_for(3, 0, std::chrono::milliseconds(0)));
    CHECK_FALSE(log->wait_for(3, 1, std::chrono::milliseconds(5)));
}
