// Crash-safe processing (SPEC section 7, docs/state.md): SIGKILL vigil 20 times
// at random moments while 200k events stream in; a subscriber with a persistent
// session receives exactly the alerts an uninterrupted run over the same log
// raises (`vigil replay` over the final log), none missing, extra deliveries only
// repeating ids.
#include <doctest/doctest.h>

#include <signal.h>

#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "rules/json.h"
#include "storage/log.h"
#include "support/harness.h"

using namespace vigil;
using namespace vigil::test;

namespace {

constexpr uint32_t kPartitions = 4;

std::string config(int port, const TempDir& dir) {
    return "data_dir: " + dir.file("data") + "\n" +
           "partitions: 4\n"
           "mqtt: { host: 127.0.0.1, port: " + std::to_string(port) + ", client_id: vigil-kill9-state }\n"
           "streams:\n"
           "  load:\n"
           "    topic: load/tx\n"
           "    qos: 1\n"
           "    key: k\n"
           // Redelivered duplicates are at most a few thousand events old: never late.
           "    time: { field: ts, format: epoch_ms, max_out_of_order: 5s, idle_timeout: 1h }\n"
           "durability: { sync: periodic, sync_interval: 50ms }\n"
           "admin: { listen: off }\n"
           "rules: " + dir.file("rules") + "\n";
}

// Per key, v counts 0..49 over and over: one match every 50 events of a key, and
// one window per key and 2 s of event time.
const char* kRules = R"(rules:
  - rule: three-then-five
    stream: load
    key: k
    pattern:
      - name: a
        where: v == 3
      - name: b
        where: v == 5
    within: 1s
  - rule: per-2s
    stream: load
    key: k
    window: { type: tumbling, size: 2s }
    aggregate:
      n: count()
      total: sum(v)
)";

struct LogView {
    uint64_t records = 0;
    uint64_t distinct = 0;  // distinct events ("i"), counted once the rest is true
    bool consumed = false;  // every partition's consumer offset at its last record
    bool outbox_empty = false;
};

LogView look(const TempDir& dir) {
    LogView v;
    LogOptions o;
    o.dir = dir.file("data");
    o.partitions = kPartitions;
    o.read_only = true;
    std::string err;
    auto log = EventLog::open(o, &err);
    if (!log) return v;
    v.consumed = true;
    for (uint32_t p = 0; p < kPartitions; ++p) {
        uint64_t last = log->last_offset(p);
        v.records += last;
        if (log->consumer_offset("live", p).value_or(0) != last) v.consumed = false;
    }
    std::vector<OutboxEntry> out;
    v.outbox_empty = log->outbox_scan(0, 1, out).ok && out.empty();
    if (!v.consumed || !v.outbox_empty) return v;
    std::set<int64_t> seen;
    for (uint32_t p = 0; p < kPartitions; ++p)
        log->scan(p, 1, 0, [&](const RecordView& r) {
            JsonDoc d;
            if (d.parse(r.payload)) seen.insert(static_cast<int64_t>(d.root()["i"].as_number()));
            return true;
        });
    v.distinct = seen.size();
    return v;
}

// The alert without detected_at (wall time of the run that raised it).
std::string content(const std::string& json) {
    static const std::regex detected(R"("detected_at":[0-9-]+,?)");
    return std::regex_replace(json, detected, "");
}

std::string id_of(const std::string& json) {
    JsonDoc d;
    if (!d.parse(json)) return {};
    return std::string(d.root()["id"].as_string());
}

}  // namespace

TEST_CASE("kill -9 during processing: every expected alert id arrives, extras only repeat") {
    constexpr int kEvents = 200000;
    constexpr int kKeys = 100;
    constexpr int kKills = 20;
    constexpr int64_t kT0 = 1767225600000;
    const auto t0 = std::chrono::steady_clock::now();
    auto secs = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    TempDir dir;
    Broker broker(dir);
    REQUIRE(broker.start());
    dir.write("vigil.yaml", config(broker.port(), dir));
    dir.write("rules/r.yaml", kRules);
    Collector alerts(broker.port(), "vigil/alerts/#", "kill9-state-collector");  // persistent session
    REQUIRE(alerts.connected());

    Daemon vigil(dir);
    int runs = 1;
    REQUIRE_MESSAGE(vigil.start(), vigil.log());

    Publisher pub(broker.port(), "kill9-state-publisher");
    REQUIRE(pub.connected());
    std::thread producer([&] {
        for (int i = 0; i < kEvents; ++i) {
            std::string payload = "{\"k\":\"k" + std::to_string(i % kKeys) + "\",\"i\":" + std::to_string(i) + ",\"v\":" +
                                  std::to_string((i / kKeys) % 50) + ",\"ts\":" + std::to_string(kT0 + i / 10) + "}";
            while (!pub.publish("load/tx", payload)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    });
    std::mt19937 rng(11);
    for (int kill = 0; kill < kKills; ++kill) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 300));
        vigil.proc.signal(SIGKILL);
        CHECK(vigil.proc.wait(5000) == 128 + SIGKILL);
        REQUIRE(vigil.spawn());  // not waited for: the next kill may land during start-up
        ++runs;
    }
    producer.join();
    REQUIRE(pub.wait_acked(60000));
    const double t_published = secs();

    // The last run ingests what the broker queued, processes it and publishes the outbox.
    LogView v;
    // Polled every 100 ms: each look opens the data folder.
    CHECK(eventually(
        [&] {
            v = look(dir);
            return v.records >= static_cast<uint64_t>(kEvents) && v.consumed && v.outbox_empty &&
                   v.distinct == static_cast<uint64_t>(kEvents);
        },
        60000, 100));
    const double t_drained = secs();
    vigil.proc.signal(SIGTERM);
    CHECK(vigil.proc.wait(20000) == 0);
    v = look(dir);
    CHECK(v.consumed);

    // What an uninterrupted run over the same log raises.
    ChildProcess replay;
    REQUIRE(replay.start({VIGIL_BINARY, "replay", "-c", dir.file("vigil.yaml"), "--no-flush", "--from", "0", "--out",
                          dir.file("expected.jsonl")},
                         dir.file("replay.out"), dir.file("replay.err")));
    REQUIRE(replay.wait(60000) == 0);
    const double t_replayed = secs();
    std::map<std::string, std::string> expected;  // id -> content
    std::istringstream lines(read_file(dir.file("expected.jsonl")));
    for (std::string line; std::getline(lines, line);)
        if (!line.empty()) expected[id_of(line)] = content(line);
    REQUIRE(expected.size() >= 3700);  // 3000 matches + 700 windows without redelivered duplicates

    std::set<std::string> got;
    size_t deliveries = 0, differing = 0;
    CHECK(eventually(
        [&] {
            got.clear();
            auto msgs = alerts.messages();
            deliveries = msgs.size();
            for (const auto& m : msgs) got.insert(id_of(m.payload));
            return got.size() >= expected.size();
        },
        20000));
    for (const auto& m : alerts.messages()) {
        auto it = expected.find(id_of(m.payload));
        if (it != expected.end() && it->second != content(m.payload) && ++differing <= 3)
            MESSAGE("differs: " << m.payload << "\nexpected: " << it->second);
    }
    size_t missing = 0, unexpected = 0;
    for (const auto& [id, json] : expected) missing += got.count(id) ? 0 : 1;
    for (const auto& id : got) unexpected += expected.count(id) ? 0 : 1;
    MESSAGE(runs << " runs, " << v.records << " records in the log (" << v.records - kEvents
                 << " redelivered), " << expected.size() << " expected alerts, " << deliveries << " deliveries; published at " << t_published << " s, drained at " << t_drained
                 << " s, replayed at " << t_replayed << " s");
    CHECK(missing == 0);
    CHECK(unexpected == 0);
    CHECK(differing == 0);  // a repeated id carries the same alert (window values, matched offsets)
    CHECK(deliveries >= expected.size());
}
