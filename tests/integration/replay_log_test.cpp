// `vigil replay --from/--to` against the log of a real daemon: it runs beside the
// daemon (read-only LMDB), and replaying a range with the live rules gives the
// live alert ids (determinism), with an empty diff against the alert store.
#include <doctest/doctest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "rules/json.h"
#include "storage/log.h"
#include "support/harness.h"

using namespace vigil;
using namespace vigil::test;

namespace {

constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z

const char* kHot3 = R"(rule: hot3
stream: sensors
key: device
pattern:
  - name: hot
    where: value > 90
    times: 3
within: 2m
skip: past_last_event
)";

const char* kPerMinute = R"(rule: per-minute
stream: sensors
key: device
window: {type: tumbling, size: 1m}
aggregate:
  n: count()
)";

std::string config(int port, const TempDir& dir) {
    // idle_timeout 1h: the wall clock never moves a watermark during the test, so
    // live alerts depend only on the events.
    return "data_dir: " + dir.file("data") + "\npartitions: 4\nmqtt: {host: 127.0.0.1, port: " + std::to_string(port) +
           ", client_id: vigil-replay-test}\n"
           "streams:\n  sensors:\n    topic: factory/+/telemetry\n    qos: 1\n    key: device\n"
           "    time: {field: ts, format: epoch_ms, max_out_of_order: 0s, idle_timeout: 1h}\n"
           "rules: " + dir.file("rules") + "\nalerts: {topic: \"vigil/alerts/{rule}/{key}\", qos: 1}\nadmin: {listen: off}\n";
}

std::string reading(int device, int64_t t, bool hot) {
    return "{\"device\":\"d" + std::to_string(device) + "\",\"ts\":" + std::to_string(t) +
           ",\"value\":" + (hot ? "95" : "50") + "}";
}

int run_vigil(const TempDir& dir, std::vector<std::string> args, const std::string& name) {
    args.insert(args.begin(), VIGIL_BINARY);
    ChildProcess p;
    if (!p.start(args, dir.file(name + ".out"), dir.file(name + ".err"))) return -1;
    return p.wait(60000);
}

}  // namespace

TEST_CASE("vigil replay --from/--to: beside the running daemon, then the live alert ids and an empty diff") {
    TempDir dir;
    Broker broker(dir);
    REQUIRE(broker.start());
    std::filesystem::create_directories(dir.file("rules"));
    dir.write("rules/hot3.yaml", kHot3);
    dir.write("rules/per-minute.yaml", kPerMinute);
    dir.write("vigil.yaml", config(broker.port(), dir));

    Collector alerts(broker.port(), "vigil/alerts/#");
    REQUIRE(alerts.connected());
    Daemon daemon(dir, "run");
    auto daemon_log = [&] { return daemon.log(); };
    REQUIRE_MESSAGE(daemon.start(), daemon_log());

    // 8 devices, a reading every 10 s for 5 minutes, hot in minutes 1 and 3; then one
    // reading per device a day later, which moves every partition's watermark past
    // everything before it (windows close, `within` expires) in live as in replay.
    Publisher pub(broker.port());
    REQUIRE(pub.connected());
    for (int64_t t = kT0; t < kT0 + 5 * 60000; t += 10000) {
        bool hot = ((t - kT0) / 60000) % 2 == 1;
        for (int d = 0; d < 8; ++d) REQUIRE(pub.publish("factory/line1/telemetry", reading(d, t, hot)));
    }
    for (int d = 0; d < 8; ++d) REQUIRE(pub.publish("factory/line1/telemetry", reading(d, kT0 + 86400000, false)));
    REQUIRE(pub.wait_acked(10000));
    // hot3: 4 per device; per-minute: 5 windows per device.
    const size_t expected = 8 * 4 + 8 * 5;
    REQUIRE_MESSAGE(alerts.wait_for(expected, 30000), daemon_log());

    const std::string from = std::to_string(kT0), to = std::to_string(kT0 + 6 * 60000);
    // While the daemon runs: a second process reads the same LMDB environment.
    CHECK(run_vigil(dir, {"replay", "-c", dir.file("vigil.yaml"), "--from", from, "--to", to, "--workers", "2"},
                    "beside") == 0);
    std::string beside = read_file(dir.file("beside.err"));
    CHECK_MESSAGE(beside.find(": 240 events") != std::string::npos, beside);
    // Alerts on stdout, one JSON object per line.
    size_t lines = 0;
    std::ifstream beside_out(dir.file("beside.out"));
    for (std::string line; std::getline(beside_out, line); ++lines) {
        JsonDoc a;
        CHECK(a.parse(line));
    }
    CHECK(lines == expected);
    CHECK(daemon.proc.running());

    daemon.proc.signal(SIGTERM);
    REQUIRE(daemon.proc.wait(15000) == 0);

    REQUIRE(run_vigil(dir, {"replay", "-c", dir.file("vigil.yaml"), "--from", from, "--to", to, "--diff-against",
                            "live", "--report", "json", "--out", dir.file("candidate.jsonl")},
                      "diff") == 0);
    std::string err_text = read_file(dir.file("diff.err"));
    size_t at = err_text.find("{\"from\":");
    REQUIRE_MESSAGE(at != std::string::npos, err_text);
    std::string report = err_text.substr(at, err_text.find('\n', at) - at);
    JsonDoc doc;
    REQUIRE_MESSAGE(doc.parse(report), err_text);
    CHECK(doc.root()["events"].as_number() == 240);
    CHECK(doc.root()["live_alerts"].as_number() == static_cast<double>(expected));
    REQUIRE(doc.root()["rules"].size() == 2);
    for (size_t i = 0; i < 2; ++i) {
        JsonRef r = doc.root()["rules"].at(i);
        INFO(report);
        double n = r["rule"].as_string() == "hot3" ? 32 : 40;
        CHECK(r["alerts"].as_number() == n);
        CHECK(r["distinct_keys"].as_number() == 8);
        CHECK(r["diff"]["both"].as_number() == n);
        CHECK(r["diff"]["only_candidate"].as_number() == 0);
        CHECK(r["diff"]["only_live"].as_number() == 0);
    }

    // The same ids: the alerts the replay wrote vs the daemon's alert store.
    std::set<std::string> replayed, live;
    std::ifstream in(dir.file("candidate.jsonl"));
    for (std::string line; std::getline(in, line);) {
        JsonDoc a;
        REQUIRE(a.parse(line));
        int64_t t = static_cast<int64_t>(a.root()["time"].as_number());
        if (t >= kT0 && t < kT0 + 6 * 60000) replayed.insert(std::string(a.root()["id"].as_string()));
    }
    LogOptions lo;
    lo.dir = dir.file("data");
    lo.partitions = 4;
    lo.read_only = true;
    std::string err;
    auto log = EventLog::open(lo, &err);
    REQUIRE_MESSAGE(log, err);
    REQUIRE(log->alerts_scan(kT0, kT0 + 6 * 60000, [&](int64_t, std::string_view id, std::string_view) {
        live.insert(std::string(id));
        return true;
    }).ok);
    CHECK(live.size() == expected);
    CHECK(replayed == live);
    // Replay wrote nothing: no consumer offsets besides the daemon's.
    std::vector<OffsetCommit> offsets;
    REQUIRE(log->consumer_offsets(offsets).ok);
    for (const auto& o : offsets) CHECK(o.consumer == "live");
}

TEST_CASE("vigil replay: the log source needs a config, a valid range and known flags") {
    TempDir dir;
    dir.write("vigil.yaml", "data_dir: " + dir.file("data") + "\nrules: " + dir.file("rules") + "\n");
    CHECK(run_vigil(dir, {"replay", "--from", "0", "--to", "10"}, "a") == 2);
    CHECK(read_file(dir.file("a.err")).find("needs -c vigil.yaml") != std::string::npos);
    CHECK(run_vigil(dir, {"replay", "-c", dir.file("vigil.yaml"), "--from", "10", "--to", "5"}, "b") == 2);
    CHECK(run_vigil(dir, {"replay", "-c", dir.file("vigil.yaml"), "--from", "yesterday"}, "c") == 2);
    CHECK(read_file(dir.file("c.err")).find("is not a time") != std::string::npos);
    CHECK(run_vigil(dir, {"replay", "-c", dir.file("vigil.yaml"), "--from", "0", "--diff-against", "x"}, "d") == 2);
    CHECK(run_vigil(dir, {"replay", "--input", "x.jsonl", "--from", "0"}, "e") == 2);
}
