// Rule state survives a restart (docs/state.md): a sequence begun before vigil
// stops (SIGTERM, or SIGKILL after a checkpoint) completes after it restarts, and a
// window's count continues across the restart instead of starting from zero.
#include <doctest/doctest.h>

#include <signal.h>

#include <string>

#include "rules/json.h"
#include "storage/log.h"
#include "support/harness.h"

using namespace vigil;
using namespace vigil::test;

namespace {

std::string config(int port, const TempDir& dir) {
    return "data_dir: " + dir.file("data") + "\n" +
           "partitions: 1\n"
           "mqtt: { host: 127.0.0.1, port: " + std::to_string(port) + ", client_id: vigil-restart }\n"
           "streams:\n"
           "  sensors:\n"
           "    topic: plant/+/telemetry\n"
           "    qos: 1\n"
           "    key: device\n"
           "    time: { field: ts, format: epoch_ms, max_out_of_order: 1s, idle_timeout: 1h }\n"
           "durability: { sync: periodic, sync_interval: 50ms }\n"
           "admin: { listen: off }\n"
           "rules: " + dir.file("rules") + "\n";
}

const char* kRules = R"(rules:
  - rule: open-then-close
    stream: sensors
    key: device
    pattern:
      - name: open
        where: kind == "open"
      - name: close
        where: kind == "close"
    within: 1h
  - rule: readings
    stream: sensors
    key: device
    where: kind == "reading"
    window: { type: tumbling, size: 1m }
    aggregate:
      n: count()
      total: sum(value)
)";

constexpr int64_t kT0 = 1767225600000;  // a minute boundary

std::string event(const std::string& device, const std::string& kind, int64_t ts, int value = 0) {
    return R"({"device":")" + device + R"(","kind":")" + kind + R"(","ts":)" + std::to_string(ts) +
           R"(,"value":)" + std::to_string(value) + "}";
}

// The engine's committed offset of partition 0 (read-only view of the data folder).
uint64_t committed(const TempDir& dir, std::string* why = nullptr) {
    LogOptions o;
    o.dir = dir.file("data");
    o.partitions = 1;
    o.read_only = true;
    std::string err;
    auto log = EventLog::open(o, &err);
    if (!log) {
        if (why) *why = err;
        return 0;
    }
    if (why) *why = "last offset " + std::to_string(log->last_offset(0));
    return log->consumer_offset("live", 0).value_or(0);
}

void restart_case(int sig) {
    TempDir dir;
    Broker broker(dir);
    REQUIRE(broker.start());
    dir.write("vigil.yaml", config(broker.port(), dir));
    dir.write("rules/r.yaml", kRules);
    Collector alerts(broker.port(), "vigil/alerts/#", "restart-collector");
    REQUIRE(alerts.connected());
    Publisher pub(broker.port(), "restart-publisher");
    REQUIRE(pub.connected());

    Daemon vigil(dir);
    REQUIRE_MESSAGE(vigil.start(), vigil.log());
    // Before the restart: the sequence's first event, three readings of the window.
    REQUIRE(pub.publish("plant/a/telemetry", event("valve-1", "open", kT0 + 1000)));
    for (int i = 0; i < 3; ++i) REQUIRE(pub.publish("plant/b/telemetry", event("meter-1", "reading", kT0 + 2000 + i, 10)));
    // An event later in time, so the first ones are released from the reorder buffer.
    REQUIRE(pub.publish("plant/c/telemetry", event("other", "x", kT0 + 5000)));
    REQUIRE(pub.wait_acked(10000));
    // All five events processed and checkpointed (with the state) before the stop.
    std::string why;
    REQUIRE_MESSAGE(eventually([&] { return committed(dir) >= 5; }, 15000),
                    "committed " << committed(dir, &why) << " " << why << "\n"
                                 << vigil.log());
    vigil.proc.signal(sig);
    CHECK(vigil.proc.wait(20000) == (sig == SIGKILL ? 128 + SIGKILL : 0));
    CHECK(alerts.messages().empty());

    REQUIRE_MESSAGE(vigil.start(), vigil.log());
    INFO(vigil.log());
    CHECK(vigil.log().find("restored 2 keyed states") != std::string::npos);
    REQUIRE(pub.publish("plant/a/telemetry", event("valve-1", "close", kT0 + 20000)));
    for (int i = 0; i < 2; ++i) REQUIRE(pub.publish("plant/b/telemetry", event("meter-1", "reading", kT0 + 30000 + i, 1)));
    // Closes the window [kT0, kT0 + 1m).
    REQUIRE(pub.publish("plant/c/telemetry", event("other", "x", kT0 + 3 * 60000)));
    REQUIRE(pub.wait_acked(10000));
    REQUIRE(alerts.wait_for(2, 15000));
    vigil.proc.signal(SIGTERM);
    CHECK(vigil.proc.wait(20000) == 0);

    bool matched = false, windowed = false;
    for (const auto& m : alerts.messages()) {
        JsonDoc d;
        REQUIRE(d.parse(m.payload));
        std::string rule(d.root()["rule"].as_string());
        if (rule == "open-then-close") {
            matched = true;
            CHECK(d.root()["key"].as_string() == "valve-1");
            CHECK(d.root()["events"]["open"].at(0)["ts"].as_number() == double(kT0 + 1000));
            CHECK(d.root()["events"]["close"].at(0)["ts"].as_number() == double(kT0 + 20000));
        } else if (rule == "readings") {
            windowed = true;
            CHECK(d.root()["key"].as_string() == "meter-1");
            CHECK(d.root()["values"]["n"].as_number() == 5);
            CHECK(d.root()["values"]["total"].as_number() == 32);
        }
    }
    CHECK(matched);
    CHECK(windowed);
    CHECK(alerts.messages().size() == 2);
}

}  // namespace

TEST_CASE("state: a sequence and a window continue across a SIGTERM restart") { restart_case(SIGTERM); }

TEST_CASE("state: a sequence and a window continue across a SIGKILL after a checkpoint") { restart_case(SIGKILL); }
