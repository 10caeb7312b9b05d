// Absence on an idle partition in the live daemon (issue #5): a real mosquitto, the
// real vigil binary, real LMDB. A heartbeat rule ends with a `not` stage and
// `within: 1s`; the stream's idle_timeout is 300 ms. When the device goes silent,
// no later event moves the watermark: only the wall clock does (idle_timeout), and
// the alert must still arrive over MQTT within a bounded time. While the device keeps
// sending, no alert may arrive.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "rules/json.h"
#include "support/harness.h"

using namespace vigil;
using namespace vigil::test;

namespace {

using Ms = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

int64_t wall_ms() {
    return std::chrono::duration_cast<Ms>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string config(int port, const TempDir& dir) {
    return "data_dir: " + dir.file("data") + "\npartitions: 2\nmqtt: { host: 127.0.0.1, port: " +
           std::to_string(port) +
           ", client_id: vigil-absence }\n"
           "streams:\n  beats:\n    topic: plant/beat\n    qos: 1\n    key: device\n"
           "    time: { field: ts, format: epoch_ms, max_out_of_order: 200ms, idle_timeout: 300ms }\n"
           "rules: " + dir.file("rules") + "\nadmin: { listen: off }\nalerts: { topic: 'alerts/{rule}/{key}', qos: 1 }\nlog: { level: info }\n";
}

const char* kRule = R"(rule: beat-lost
stream: beats
key: device
pattern:
  - name: last
  - name: gone
    not: true
within: 1s
skip: past_last_event
emit:
  payload:
    last_seen: last.ts
)";

struct Live {
    TempDir dir;
    Broker broker{dir};
    Daemon vigil{dir};
    std::string log() const { return vigil.log(); }
    bool start() {
        if (!broker.start()) return false;
        dir.write("vigil.yaml", config(broker.port(), dir));
        std::filesystem::create_directories(dir.file("rules"));
        dir.write("rules/beat.yaml", kRule);
        return vigil.start();
    }
    ~Live() {
        if (vigil.proc.running()) {
            vigil.proc.signal(SIGTERM);
            vigil.proc.wait(10000);
        }
    }
};

// Publishes one heartbeat stamped with the wall clock; returns its ts.
int64_t beat(Publisher& pub, const std::string& device) {
    int64_t ts = wall_ms();
    pub.publish("plant/beat", "{\"device\":\"" + device + "\",\"ts\":" + std::to_string(ts) + "}");
    return ts;
}

void check_alert(const ReceivedMessage& m, const std::string& device, int64_t last_ts) {
    CHECK(m.topic == "alerts/beat-lost/" + device);
    JsonDoc doc;
    REQUIRE_MESSAGE(doc.parse(m.payload), m.payload);
    auto a = doc.root();
    CHECK(a["rule"].as_string() == "beat-lost");
    CHECK(a["key"].as_string() == device);
    CHECK(a["kind"].as_string() == "match");
    CHECK(a["events"]["last"].size() == 1);
    CHECK(a["payload"]["last_seen"].as_number() == static_cast<double>(last_ts));
}

}  // namespace

TEST_CASE("vigil run: absence fires on an idle partition once the wall clock passes idle_timeout") {
    Live live;
    REQUIRE_MESSAGE(live.start(), live.log());
    Collector alerts(live.broker.port(), "alerts/#");
    REQUIRE(alerts.connected());
    Publisher pub(live.broker.port());
    REQUIRE(pub.connected());

    int64_t last = 0;
    for (int i = 0; i < 3; ++i) {
        last = beat(pub, "press-1");
        std::this_thread::sleep_for(Ms(50));  // pacing of the device, not a wait for a result
    }
    REQUIRE(pub.wait_acked(5000));
    auto silent_since = SteadyClock::now();

    // No event follows: only idle_timeout (300 ms) moves the watermark. The alert is
    // due once the watermark passes last + within (1 s), i.e. about 1.2 s of wall
    // time after the last beat (+ max_out_of_order); allow generous slack for CI.
    REQUIRE_MESSAGE(alerts.wait_for(1, 8000), live.log());
    auto took = std::chrono::duration_cast<Ms>(SteadyClock::now() - silent_since).count();
    MESSAGE("alert after " << took << " ms of silence");
    // It cannot come before the window has passed in wall time.
    CHECK(wall_ms() >= last + 1000);
    auto msgs = alerts.messages();
    REQUIRE(msgs.size() == 1);
    check_alert(msgs[0], "press-1", last);
    // Exactly one: the idle watermark keeps moving, but past_last_event leaves nothing to fire.
    CHECK_FALSE(alerts.wait_for(2, 1500));
}

TEST_CASE("vigil run: a device that keeps sending raises no absence alert, and does once it stops") {
    Live live;
    REQUIRE_MESSAGE(live.start(), live.log());
    Collector alerts(live.broker.port(), "alerts/#");
    REQUIRE(alerts.connected());
    Publisher pub(live.broker.port());
    REQUIRE(pub.connected());

    // 3 s of heartbeats every 100 ms: three times `within`, ten times idle_timeout.
    int64_t last = 0;
    auto until = SteadyClock::now() + Ms(3000);
    while (SteadyClock::now() < until) {
        last = beat(pub, "press-2");
        std::this_thread::sleep_for(Ms(100));  // pacing of the device
    }
    REQUIRE(pub.wait_acked(5000));
    CHECK_MESSAGE(alerts.messages().empty(), live.log());

    // Now it goes silent: the rule was live all along and fires on the last beat only.
    REQUIRE_MESSAGE(alerts.wait_for(1, 8000), live.log());
    auto msgs = alerts.messages();
    REQUIRE(msgs.size() == 1);
    check_alert(msgs[0], "press-2", last);
}
