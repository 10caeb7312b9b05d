// Hot reload under load (docs/reload.md): a real mosquitto, the real vigil binary,
// real LMDB. 100k events stream in while the rules folder is edited 20 times,
// valid and invalid edits in turn; a rule that never changes must raise exactly
// the alerts that `vigil replay --input` computes over the same events.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "rules/json.h"
#include "support/harness.h"

using namespace vigil;
using namespace vigil::test;

namespace {

constexpr int kEvents = 100000;
constexpr int kKeys = 20;
constexpr int kWindow = 50;  // kEvents / kKeys is a multiple: every window closes

std::string config(int port, const TempDir& dir, int admin_port, const std::string& level = "info") {
    return "data_dir: " + dir.file("data") + "\npartitions: 4\nadmin: { listen: \"127.0.0.1:" +
           std::to_string(admin_port) + "\" }\nmqtt: { host: 127.0.0.1, port: " + std::to_string(port) +
           ", client_id: vigil-reload, connections: 1 }\n"
           "streams:\n  load:\n    topic: load/s\n    key: k\n"
           "    time: { field: ts, format: epoch_ms, max_out_of_order: 1s, idle_timeout: 1h }\n"
           "rules: " + dir.file("rules") + "\nlog: { level: " + level + " }\n";
}

const char* kSteady = R"(rule: steady
stream: load
window: {type: count, size: 50}
aggregate:
  n: count()
  total: sum(seq)
  lo: min(seq)
  hi: max(seq)
)";

std::string churn(int i) {
    if (i % 2 == 1) return "rule: churn\nstream: load\npattern:\n  - name: a\n    where: seq % \n";  // invalid
    return "rule: churn\nstream: load\npattern:\n  - name: a\n    where: seq % " + std::to_string(97 + i) +
           " == 0\n    times: 2\n";
}

// kEvents events, then one closing event per key 5 s later in event time: it moves
// every partition's watermark past the last real event (its own count window never
// fills, so it raises nothing).
constexpr int kTotal = kEvents + kKeys;
std::string event(int i, int64_t base) {
    int64_t ts = i < kEvents ? base + i : base + kEvents + 5000;
    return "{\"k\":\"k" + std::to_string(i % kKeys) + "\",\"seq\":" + std::to_string(i) +
           ",\"ts\":" + std::to_string(ts) + "}";
}

// key|n|total|lo|hi of a window alert, from MQTT or from replay output.
std::string window_of(const std::string& json) {
    JsonDoc doc;
    if (!doc.parse(json)) return "bad json: " + json;
    auto a = doc.root();
    auto v = a["values"];
    auto num = [](const auto& x) { return std::to_string(static_cast<int64_t>(x.as_number())); };
    return std::string(a["key"].as_string()) + "|" + num(v["n"]) + "|" + num(v["total"]) + "|" + num(v["lo"]) + "|" +
           num(v["hi"]);
}

}  // namespace

TEST_CASE("reload under load: 20 edits while 100k events stream, the unchanged rule's alerts are exact") {
    TempDir dir;
    Broker broker(dir);
    REQUIRE(broker.start());
    const int admin = free_port();
    dir.write("vigil.yaml", config(broker.port(), dir, admin));
    std::filesystem::create_directories(dir.file("rules"));
    std::filesystem::create_directories(dir.file("expect"));
    dir.write("rules/steady.yaml", kSteady);
    dir.write("expect/steady.yaml", kSteady);
    dir.write("rules/churn.yaml", churn(0));

    Collector alerts(broker.port(), "vigil/alerts/steady/#");
    REQUIRE(alerts.connected());
    Daemon vigil(dir);
    auto log = [&] { return vigil.log(); };
    REQUIRE_MESSAGE(vigil.start(), log());

    // idle_timeout is 1h: no watermark moves with the wall clock during the test.
    const int64_t base = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
    {
        std::ofstream input(dir.file("events.jsonl"));
        for (int i = 0; i < kTotal; ++i) input << event(i, base) << '\n';
    }

    // A steady stream from its own thread, paced so it spans the edits.
    Publisher pub(broker.port());
    REQUIRE(pub.connected());
    std::atomic<int> sent{0};
    std::atomic<bool> publish_failed{false};
    std::thread publisher([&] {
        auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < kTotal; ++i) {
            if (!pub.publish("load/s", event(i, base))) publish_failed = true;
            sent = i + 1;
            if (i % 1000 == 999)  // about 20k events/s
                std::this_thread::sleep_until(start + std::chrono::milliseconds((i + 1) / 20));
        }
    });

    // 20 edits, valid and invalid in turn, each waited for in the daemon's log.
    for (int i = 1; i <= 20; ++i) {
        size_t before = count_of(log(), "reload (watcher)");
        size_t failed_before = count_of(log(), "the running rules stay");
        if (i % 4 < 2) dir.write("rules/churn.yaml", churn(i));
        else {
            dir.write("rules/churn.yaml.tmp", churn(i));  // an editor's save by rename
            std::filesystem::rename(dir.file("rules/churn.yaml.tmp"), dir.file("rules/churn.yaml"));
        }
        REQUIRE_MESSAGE(eventually([&] {
                            std::string l = log();
                            return count_of(l, "reload (watcher)") > before;
                        }, 10000),
                        log());
        CHECK(count_of(log(), "the running rules stay") == failed_before + (i % 2));
    }
    int sent_at_last_edit = sent.load();
    publisher.join();
    REQUIRE_FALSE(publish_failed);
    REQUIRE(pub.wait_acked(30000));
    MESSAGE("events sent when the 20th edit was applied: " << sent_at_last_edit);

    const size_t expected_count = kEvents / kWindow;
    REQUIRE_MESSAGE(alerts.wait_for(expected_count, 60000), "alerts: " << alerts.messages().size());
    // The last alert can come before the last closing events are processed: wait for all
    // of them, so the stop line below counts every event (none lost across the reloads).
    CHECK_MESSAGE(eventually([&] { return admin_metric(admin, "vigil_engine_events_processed_total") == kTotal; },
                             30000),
                  admin_metrics(admin));
    vigil.proc.signal(SIGTERM);
    CHECK(vigil.proc.wait(20000) == 0);
    std::string l = log();
    CHECK(count_of(l, "the running rules stay") == 10);
    CHECK(l.find(std::to_string(kTotal) + " processed") != std::string::npos);
    CHECK(l.find("churn.yaml:5:") != std::string::npos);  // errors carry file:line:col

    std::multiset<std::string> got;
    for (const auto& m : alerts.messages()) got.insert(window_of(m.payload));

    // The same rule over the same events without any reload: vigil replay.
    ChildProcess replay;
    REQUIRE(replay.start({VIGIL_BINARY, "replay", "--input", dir.file("events.jsonl"), "--rules", dir.file("expect"),
                          "-c", dir.file("vigil.yaml"), "--stream", "load", "--out", dir.file("expected.jsonl")},
                         dir.file("replay.out"), dir.file("replay.err")));
    REQUIRE(replay.wait(60000) == 0);
    std::multiset<std::string> want;
    std::ifstream in(dir.file("expected.jsonl"));
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) want.insert(window_of(line));
    CHECK(want.size() == expected_count);
    CHECK(got.size() == expected_count);
    CHECK(got == want);
}
