// alerts.max_outbox and alerts.on_full (daemon/outbox_limit.h) over a real LMDB log.
#include <doctest/doctest.h>

#include <filesystem>
#include <future>
#include <thread>

#include "daemon/config.h"
#include "daemon/outbox_limit.h"
#include "storage/log.h"

using namespace vigil;
using namespace std::chrono_literals;

namespace {

struct Tmp {
    Tmp() {
        std::string t = (std::filesystem::temp_directory_path() / "vigil-outbox-XXXXXX").string();
        if (::mkdtemp(t.data())) path = t;
    }
    ~Tmp() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string path;
};

std::unique_ptr<EventLog> open_log(const Tmp& t) {
    LogOptions o;
    o.dir = t.path + "/data";
    o.partitions = 1;
    o.map_size = 16ULL << 20;
    std::string err;
    auto log = EventLog::open(o, &err);
    REQUIRE_MESSAGE(log, err);
    return log;
}

std::vector<uint64_t> append_alerts(EventLog& log, int n, int first = 0) {
    CommitBatch b;
    for (int i = first; i < first + n; ++i) {
        AlertWrite a;
        a.time = i;
        a.id = "a" + std::to_string(i);
        a.json = R"({"id":")" + a.id + "\"}";
        a.topic = "vigil/alerts/r/k";
        b.alerts.push_back(std::move(a));
    }
    CommitResult r = log.commit_batch(std::move(b)).get();
    REQUIRE(r.ok);
    return r.outbox_seqs;
}

uint64_t alert_count(const EventLog& log) {
    uint64_t n = 0;
    log.alerts_scan(INT64_MIN, INT64_MAX, [&](int64_t, std::string_view, std::string_view) { return ++n, true; });
    return n;
}

}  // namespace

TEST_CASE("outbox limit: block refuses while the outbox is full and lets the workers on once it drained") {
    Tmp t;
    auto log = open_log(t);
    OutboxLimit limit(*log, 5, OutboxFullPolicy::Block);
    auto seqs = append_alerts(*log, 4);
    CHECK(limit.depth() == 4);
    CHECK(limit.admit(0ms));
    CHECK_FALSE(limit.blocked());
    CHECK_FALSE(limit.admit(0ms, 1));  // a commit in flight with one alert fills it
    CHECK(limit.blocked());
    CHECK(limit.admit(0ms));
    append_alerts(*log, 1, 4);
    CHECK(limit.depth() == 5);
    CHECK_FALSE(limit.admit(0ms));
    CHECK(limit.blocked());
    CHECK(limit.enforce() == 0);  // block never drops
    CHECK(limit.depth() == 5);

    // A worker waits; the publisher confirms one alert and says so.
    auto waiting = std::async(std::launch::async, [&] { return limit.admit(10s); });
    CHECK(waiting.wait_for(100ms) == std::future_status::timeout);  // still full: still waiting
    REQUIRE(log->outbox_delete({seqs[0]}).get().ok);
    limit.drained();
    REQUIRE(waiting.wait_for(5s) == std::future_status::ready);
    CHECK(waiting.get());
    CHECK_FALSE(limit.blocked());
    CHECK(limit.blocked_seconds() >= 0.1);
    CHECK(limit.dropped() == 0);
    CHECK(alert_count(*log) == 5);
}

TEST_CASE("outbox limit: drop_oldest never blocks, deletes the oldest entries beyond the bound and counts them") {
    Tmp t;
    auto log = open_log(t);
    OutboxLimit limit(*log, 5, OutboxFullPolicy::DropOldest);
    auto seqs = append_alerts(*log, 8);
    CHECK(limit.admit(0ms));
    CHECK_FALSE(limit.blocked());
    CHECK(limit.enforce() == 3);
    CHECK(limit.dropped() == 3);
    std::vector<OutboxEntry> left;
    REQUIRE(log->outbox_scan(0, 0, left).ok);
    REQUIRE(left.size() == 5);
    CHECK(left.front().seq == seqs[3]);  // the three oldest went
    CHECK(left.back().seq == seqs[7]);
    CHECK(alert_count(*log) == 8);       // all stay in the alert store
    CHECK(limit.enforce() == 0);         // at the bound: nothing more
    append_alerts(*log, 2, 8);
    CHECK(limit.enforce() == 2);
    CHECK(limit.dropped() == 5);
    CHECK(limit.blocked_seconds() == 0);

    // Entries already handed to the broker are not dropped: their PUBACK is on its way.
    left.clear();
    REQUIRE(log->outbox_scan(0, 0, left).ok);
    uint64_t in_flight = left.front().seq;
    append_alerts(*log, 2, 10);
    CHECK(limit.enforce([&](uint64_t seq) { return seq == in_flight; }) == 2);
    left.clear();
    REQUIRE(log->outbox_scan(0, 0, left).ok);
    REQUIRE(left.size() == 5);
    CHECK(left.front().seq == in_flight);  // kept; the two after it went
    CHECK(left[1].seq == in_flight + 3);
    CHECK(limit.dropped() == 7);
}

TEST_CASE("config: alerts.on_full is block or drop_oldest, block by default") {
    Diagnostics d;
    auto c = load_config_text("streams:\n  s: {topic: a}\n", "vigil.yaml", d);
    REQUIRE_MESSAGE(c, d.to_string());
    CHECK(c->alerts.on_full == OutboxFullPolicy::Block);
    CHECK(c->alerts.max_outbox == 100000);

    Diagnostics d2;
    c = load_config_text("streams:\n  s: {topic: a}\nalerts: {max_outbox: 10, on_full: drop_oldest}\n", "vigil.yaml", d2);
    REQUIRE_MESSAGE(c, d2.to_string());
    CHECK(c->alerts.on_full == OutboxFullPolicy::DropOldest);
    CHECK(c->alerts.max_outbox == 10);

    Diagnostics d3;
    c = load_config_text("streams:\n  s: {topic: a}\nalerts: {on_full: drop_newest}\n", "vigil.yaml", d3);
    CHECK_FALSE(c);
    CHECK(d3.to_string().find("vigil.yaml:3") != std::string::npos);
    CHECK(d3.to_string().find("drop_oldest") != std::string::npos);  // the choices are named

    Diagnostics d4;
    c = load_config_text("streams:\n  s: {topic: a}\nalerts: {max_outbox: 0}\n", "vigil.yaml", d4);
    CHECK_FALSE(c);
}
