// Retention of the alert store: by age (alert time) and by size, in bounded
// batches, never an alert whose outbox entry is still waiting.
#include <doctest/doctest.h>

#include <atomic>
#include <set>

#include "temp_dir.h"

using namespace vigil;
using test::small_log;
using test::TempDir;

namespace {

AlertWrite alert(int64_t time, const std::string& id, bool outbox, size_t json_bytes = 20) {
    AlertWrite a;
    a.time = time;
    a.id = id;
    a.json = R"({"id":")" + id + R"(","pad":")" + std::string(json_bytes, 'x') + "\"}";
    a.topic = "vigil/alerts/r/k";
    a.outbox = outbox;
    return a;
}

std::set<std::string> alert_ids(const EventLog& log) {
    std::set<std::string> ids;
    log.alerts_scan(INT64_MIN, INT64_MAX, [&](int64_t, std::string_view id, std::string_view) {
        ids.emplace(id);
        return true;
    });
    return ids;
}

std::vector<uint64_t> outbox_seqs(const EventLog& log) {
    std::vector<OutboxEntry> entries;
    log.outbox_scan(0, 0, entries);
    std::vector<uint64_t> out;
    for (const auto& e : entries) out.push_back(e.seq);
    return out;
}

}  // namespace

TEST_CASE("retention: max_age trims the alert store by alert time, in batches, keeping alerts still in the outbox") {
    TempDir tmp;
    auto clock = std::make_shared<std::atomic<int64_t>>(0);
    LogOptions o = small_log(tmp.sub("data"), 1);
    o.retention_max_age_ms = 1000;
    o.retention_batch = 7;  // several transactions
    o.retention_interval_ms = 3600'000;
    o.now_ms = [clock] { return clock->load(); };
    auto log = EventLog::open(o, nullptr);
    REQUIRE(log);

    // 40 alerts at times 0..39 (a0..a39); a5 and a6 still wait in the outbox,
    // the others were delivered (their outbox entries deleted below).
    CommitBatch b;
    for (int i = 0; i < 40; ++i) b.alerts.push_back(alert(i, "a" + std::to_string(i), true));
    CommitResult r = log->commit_batch(std::move(b)).get();
    REQUIRE(r.ok);
    REQUIRE(r.outbox_seqs.size() == 40);
    std::vector<uint64_t> delivered;
    for (int i = 0; i < 40; ++i)
        if (i != 5 && i != 6) delivered.push_back(r.outbox_seqs[static_cast<size_t>(i)]);
    REQUIRE(log->outbox_delete(delivered).get().ok);
    CHECK(log->outbox_size() == 2);
    CHECK(log->alerts_size() == 40);

    clock->store(1020);  // cutoff 20: a0..a19 are due, a5 and a6 must stay
    REQUIRE(log->run_retention().get().ok);
    std::set<std::string> ids = alert_ids(*log);
    CHECK(ids.size() == 22);
    CHECK(ids.count("a5") == 1);
    CHECK(ids.count("a6") == 1);
    CHECK(ids.count("a4") == 0);
    CHECK(ids.count("a19") == 0);
    CHECK(ids.count("a20") == 1);
    CHECK(log->map_info().retention_alerts_deleted == 18);
    CHECK(log->map_info().retention_deleted == 0);  // no log records were touched
    CHECK(outbox_seqs(*log).size() == 2);           // the outbox is not trimmed by retention

    // Once delivered, they go at the next pass.
    REQUIRE(log->outbox_delete({r.outbox_seqs[5], r.outbox_seqs[6]}).get().ok);
    REQUIRE(log->run_retention().get().ok);
    CHECK(alert_ids(*log).size() == 20);
    CHECK(log->map_info().retention_alerts_deleted == 20);

    // Alerts not queued for publishing (outbox=false) are trimmed like the others.
    CommitBatch c;
    c.alerts.push_back(alert(100, "quiet", false));
    REQUIRE(log->commit_batch(std::move(c)).get().ok);
    clock->store(5000);
    REQUIRE(log->run_retention().get().ok);
    CHECK(alert_ids(*log).empty());
    CHECK(log->alerts_size() == 0);
}

TEST_CASE("retention: max_bytes counts the alert store and trims the oldest alerts, never those in the outbox") {
    TempDir tmp;
    LogOptions o = small_log(tmp.sub("data"), 1);
    o.retention_max_bytes = 128 << 10;
    o.retention_batch = 100;
    o.retention_interval_ms = 3600'000;
    auto log = EventLog::open(o, nullptr);
    REQUIRE(log);

    // ~600 KB of alerts; the oldest 50 are still waiting in the outbox.
    CommitBatch b;
    for (int i = 0; i < 1000; ++i) b.alerts.push_back(alert(i, "a" + std::to_string(i), true, 600));
    CommitResult r = log->commit_batch(std::move(b)).get();
    REQUIRE(r.ok);
    std::vector<uint64_t> delivered(r.outbox_seqs.begin() + 50, r.outbox_seqs.end());
    REQUIRE(log->outbox_delete(delivered).get().ok);

    REQUIRE(log->run_retention().get().ok);
    std::set<std::string> ids = alert_ids(*log);
    CHECK(ids.size() < 400);
    for (int i = 0; i < 50; ++i) CHECK(ids.count("a" + std::to_string(i)) == 1);
    CHECK(ids.count("a999") == 1);  // the newest stay
    CHECK(ids.count("a50") == 0);   // the oldest delivered went first
    CHECK(log->map_info().retention_alerts_deleted == 1000 - ids.size());
    CHECK(log->outbox_size() == 50);
}
