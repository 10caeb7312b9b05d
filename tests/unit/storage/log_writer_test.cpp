#include <doctest/doctest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <thread>

#include "temp_dir.h"

using namespace vigil;
using test::event;
using test::small_log;
using test::TempDir;

TEST_CASE("writer: appends from several threads keep each thread's order, offsets dense") {
    TempDir tmp;
    auto log = EventLog::open(small_log(tmp.sub("data")), nullptr);
    REQUIRE(log);
    constexpr int kThreads = 4, kPerThread = 1500;
    std::vector<std::vector<AppendResult>> results(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::vector<std::future<AppendResult>> futs;
            for (int i = 0; i < kPerThread; ++i) {
                // Every third request waits, so groups of every size occur.
                futs.push_back(log->append(event(0, i, std::to_string(t) + ":" + std::to_string(i))));
                if (i % 3 == 0) results[t].push_back(futs.back().get()), futs.pop_back();
                if (i % 3 == 2)
                    for (auto& f : futs) results[t].push_back(f.get());
                if (i % 3 == 2) futs.clear();
            }
            for (auto& f : futs) results[t].push_back(f.get());
        });
    }
    for (auto& th : threads) th.join();

    std::vector<Record> recs;
    REQUIRE(log->read(0, 1, 0, recs).ok);
    REQUIRE(recs.size() == size_t(kThreads * kPerThread));
    std::map<int, int> next_seen;
    for (size_t i = 0; i < recs.size(); ++i) {
        CHECK(recs[i].offset == i + 1);
        auto colon = recs[i].payload.find(':');
        int t = std::stoi(recs[i].payload.substr(0, colon)), n = std::stoi(recs[i].payload.substr(colon + 1));
        CHECK(n == next_seen[t]++);  // a thread's events appear in the order it sent them
    }
    for (int t = 0; t < kThreads; ++t)
        for (const auto& r : results[t]) CHECK(r.ok);
    CHECK(log->map_info().commits <= uint64_t(kThreads * kPerThread));
}

TEST_CASE("writer: one append_batch is one commit, positions in request order") {
    TempDir tmp;
    auto log = EventLog::open(small_log(tmp.sub("data")), nullptr);
    REQUIRE(log);
    uint64_t before = log->map_info().commits;
    std::vector<AppendRequest> batch;
    for (int i = 0; i < 100; ++i) batch.push_back(event(uint32_t(i % 4), i, "b"));
    auto res = log->append_batch(std::move(batch)).get();
    REQUIRE(res.ok);
    REQUIRE(res.positions.size() == 100);
    CHECK(res.positions[0] == std::make_pair(0u, uint64_t(1)));
    CHECK(res.positions[5] == std::make_pair(1u, uint64_t(2)));
    CHECK(res.positions[99] == std::make_pair(3u, uint64_t(25)));
    CHECK(log->map_info().commits == before + 1);

    std::vector<AppendRequest> bad = {event(0, 1, "ok"), event(7, 1, "no such partition")};
    auto r = log->append_batch(std::move(bad)).get();
    CHECK_FALSE(r.ok);
    CHECK(r.error.find("batch item 1") != std::string::npos);
    CHECK(log->last_offset(0) == 25);  // nothing of the refused batch was stored
}

TEST_CASE("writer: a tiny map grows while appending and nothing is lost") {
    TempDir tmp;
    LogOptions o = small_log(tmp.sub("data"), 2);
    o.map_size = 64 << 10;
    auto log = EventLog::open(o, nullptr);
    REQUIRE(log);
    std::string payload(1000, 'x');
    constexpr int kBatches = 40, kPerBatch = 200;  // ~8 MB of records
    std::vector<std::future<BatchResult>> futs;
    for (int b = 0; b < kBatches; ++b) {
        std::vector<AppendRequest> batch;
        for (int i = 0; i < kPerBatch; ++i) batch.push_back(event(uint32_t(i % 2), b * kPerBatch + i, payload));
        futs.push_back(log->append_batch(std::move(batch)));
    }
    for (auto& f : futs) REQUIRE(f.get().ok);
    MapInfo m = log->map_info();
    CHECK(m.map_grows > 0);
    CHECK(m.map_size > (8ULL << 20));
    for (uint32_t p = 0; p < 2; ++p) {
        uint64_t n = 0;
        REQUIRE(log->scan(p, 1, 0, [&](const RecordView& r) { return r.payload.size() == 1000 && ++n; }).ok);
        CHECK(n == kBatches * kPerBatch / 2);
    }
}

TEST_CASE("writer: map full at max_map_size fails the group with MDB_MAP_FULL and keeps the log intact") {
    TempDir tmp;
    LogOptions o = small_log(tmp.sub("data"), 1);
    o.map_size = 256 << 10;
    o.max_map_size = 512 << 10;
    auto log = EventLog::open(o, nullptr);
    REQUIRE(log);
    REQUIRE(log->append(event(0, 1, "small")).get().ok);
    std::vector<AppendRequest> big;
    for (int i = 0; i < 100; ++i) big.push_back(event(0, i, std::string(10000, 'y')));
    auto r = log->append_batch(std::move(big)).get();
    CHECK_FALSE(r.ok);
    CHECK(r.error.rfind("storage: commit failed: MDB_MAP_FULL: ", 0) == 0);
    CHECK(r.error.find("max_map_size") != std::string::npos);
    CHECK(log->last_offset(0) == 1);
    auto after = log->append(event(0, 2, "still fine")).get();
    CHECK(after.ok);
    CHECK(after.offset == 2);
}

TEST_CASE("writer: disk full (file size limit) is a clear error for every waiter, nothing corrupted") {
    TempDir tmp;
    std::string dir = tmp.sub("data");
    {
        auto log = EventLog::open(small_log(dir, 1), nullptr);
        REQUIRE(log);
        REQUIRE(log->append(event(0, 1, "before")).get().ok);
        REQUIRE(log->sync().ok);
        auto size = std::filesystem::file_size(dir + "/data.mdb");

        struct rlimit old {};
        getrlimit(RLIMIT_FSIZE, &old);
        auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = old;
        lim.rlim_cur = size + 8192;
        REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
        std::vector<std::future<AppendResult>> futs;
        for (int i = 0; i < 200; ++i) futs.push_back(log->append(event(0, i, std::string(4000, 'z'))));
        int failed = 0;
        std::string error;
        for (auto& f : futs) {
            auto r = f.get();
            if (!r.ok) ++failed, error = r.error;
        }
        setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, old_handler);
        CHECK(failed > 0);
        // A write cut short by the limit is EIO from LMDB; a refused one is EFBIG.
        CHECK((error.find("EFBIG: ") != std::string::npos || error.find("EIO: ") != std::string::npos));
        CHECK(error.find("disk full") != std::string::npos);
        auto again = log->append(event(0, 2, "after")).get();
        REQUIRE(again.ok);
    }
    auto log = EventLog::open(small_log(dir, 1), nullptr);
    REQUIRE(log);
    std::vector<Record> recs;
    REQUIRE(log->read(0, 1, 0, recs).ok);
    REQUIRE(recs.size() >= 2);
    CHECK(recs.front().payload == "before");
    CHECK(recs.back().payload == "after");
    for (size_t i = 0; i < recs.size(); ++i) CHECK(recs[i].offset == i + 1);
}

TEST_CASE("writer: commit_batch stores offsets, state and alerts atomically, outbox delete") {
    TempDir tmp;
    LogOptions o = small_log(tmp.sub("data"), 2);
    o.map_size = 256 << 10;
    o.max_map_size = 256 << 10;
    auto log = EventLog::open(o, nullptr);
    REQUIRE(log);

    CommitBatch b;
    b.offsets.push_back({"engine", 1, 42});
    b.state.push_back({"card-testing", 1, "c1", "state-bytes", false});
    b.state.push_back({"card-testing", 1, "c2", "other", false});
    b.alerts.push_back({1000, "a1", R"({"id":"a1"})", "vigil/alerts/r/c1", 1, true});
    b.alerts.push_back({2000, "a2", R"({"id":"a2"})", "vigil/alerts/r/c2", 0, true});
    auto r = log->commit_batch(b).get();
    REQUIRE(r.ok);
    REQUIRE(r.outbox_seqs.size() == 2);
    CHECK(r.outbox_seqs[1] == r.outbox_seqs[0] + 1);
    CHECK(log->consumer_offset("engine", 1) == uint64_t(42));
    CHECK_FALSE(log->consumer_offset("engine", 0).has_value());
    CHECK(log->state_get("card-testing", 1, "c1") == std::string("state-bytes"));

    // Too big for the capped map: none of it may land.
    CommitBatch huge;
    huge.offsets.push_back({"engine", 1, 99});
    huge.state.push_back({"card-testing", 1, "c1", "", true});
    huge.alerts.push_back({3000, "a3", std::string(600 << 10, 'j'), "t", 1, true});
    auto f = log->commit_batch(huge).get();
    CHECK_FALSE(f.ok);
    CHECK(f.error.find("MDB_MAP_FULL") != std::string::npos);
    CHECK(log->consumer_offset("engine", 1) == uint64_t(42));
    CHECK(log->state_get("card-testing", 1, "c1") == std::string("state-bytes"));
    int alerts = 0;
    REQUIRE(log->alerts_scan(INT64_MIN, INT64_MAX, [&](int64_t, std::string_view, std::string_view) {
        return ++alerts, true;
    }).ok);
    CHECK(alerts == 2);

    std::vector<std::string> keys;
    REQUIRE(log->state_scan("card-testing", 1, [&](std::string_view k, std::string_view) {
        keys.emplace_back(k);
        return true;
    }).ok);
    CHECK(keys == std::vector<std::string>{"c1", "c2"});

    std::vector<OutboxEntry> out;
    REQUIRE(log->outbox_scan(0, 0, out).ok);
    REQUIRE(out.size() == 2);
    CHECK(out[0].topic == "vigil/alerts/r/c1");
    CHECK(out[1].qos == 0);
    CHECK(out[1].json == R"({"id":"a2"})");
    REQUIRE(log->outbox_delete({out[0].seq}).get().ok);
    out.clear();
    REQUIRE(log->outbox_scan(0, 0, out).ok);
    REQUIRE(out.size() == 1);
    CHECK(out[0].seq == r.outbox_seqs[1]);

    std::vector<std::string> ids;
    REQUIRE(log->alerts_scan(1500, 2500, [&](int64_t t, std::string_view id, std::string_view) {
        CHECK(t == 2000);
        ids.emplace_back(id);
        return true;
    }).ok);
    CHECK(ids == std::vector<std::string>{"a2"});

    CommitBatch erase;
    erase.state.push_back({"card-testing", 1, "c1", "", true});
    erase.offsets.push_back({"engine", 1, 50});
    REQUIRE(log->commit_batch(erase).get().ok);
    CHECK_FALSE(log->state_get("card-testing", 1, "c1").has_value());
    std::vector<OffsetCommit> offs;
    REQUIRE(log->consumer_offsets(offs).ok);
    REQUIRE(offs.size() == 1);
    CHECK(offs[0].offset == 50);
}

TEST_CASE("writer: the publisher waits for outbox entries instead of polling") {
    TempDir tmp;
    auto log = EventLog::open(small_log(tmp.sub("data")), nullptr);
    REQUIRE(log);
    CHECK_FALSE(log->wait_for_outbox(0, std::chrono::milliseconds(5)));
    bool woke = false;
    std::thread publisher([&] { woke = log->wait_for_outbox(0, std::chrono::seconds(10)); });
    CommitBatch history_only;
    history_only.alerts.push_back({1, "h", "{}", "t", 1, false});  // not for publishing
    REQUIRE(log->commit_batch(history_only).get().ok);
    CHECK_FALSE(log->wait_for_outbox(0, std::chrono::milliseconds(0)));
    CommitBatch b;
    b.alerts.push_back({2, "p", "{}", "t", 1, true});
    auto r = log->commit_batch(b).get();
    publisher.join();
    REQUIRE(r.ok);
    CHECK(woke);
    CHECK(log->wait_for_outbox(r.outbox_seqs.at(0) - 1, std::chrono::milliseconds(0)));
    CHECK_FALSE(log->wait_for_outbox(r.outbox_seqs.at(0), std::chrono::milliseconds(1)));
}

TEST_CASE("writer: outbox sequence continues after reopen") {
    TempDir tmp;
    std::string dir = tmp.sub("data");
    uint64_t seq = 0;
    {
        auto log = EventLog::open(small_log(dir), nullptr);
        CommitBatch b;
        b.alerts.push_back({1, "x", "{}", "t", 1, true});
        auto r = log->commit_batch(b).get();
        REQUIRE(r.ok);
        seq = r.outbox_seqs.at(0);
    }
    auto log = EventLog::open(small_log(dir), nullptr);
    CommitBatch b;
    b.alerts.push_back({2, "y", "{}", "t", 1, true});
    auto r = log->commit_batch(b).get();
    REQUIRE(r.ok);
    CHECK(r.outbox_seqs.at(0) == seq + 1);
}
