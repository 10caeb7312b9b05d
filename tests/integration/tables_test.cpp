// Reference tables end to end (docs/tables.md): a real mosquitto, the real vigil
// binary, real LMDB. Table rows arrive over MQTT (retained, updated, deleted) and
// from a CSV file (loaded, reloaded) while events flow; `vigil replay` of a table
// with `history: true` sees each event's table as it was at the event's time.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "rules/json.h"
#include "support/harness.h"

using namespace vigil;
using namespace vigil::test;

namespace {

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string config(int port, const TempDir& dir, const std::string& devices_extra) {
    return "data_dir: " + dir.file("data") + "\npartitions: 2\nmqtt: {host: 127.0.0.1, port: " + std::to_string(port) +
           ", client_id: vigil-tables-it}\n"
           "streams:\n  sensors:\n    topic: factory/+/telemetry\n    key: device\n"
           "    time: {field: ts, format: epoch_ms, max_out_of_order: 0s, idle_timeout: 1s}\n"
           "tables:\n  devices: {topic: \"factory/+/profile\", key: \"topic[1]\"" + devices_extra + "}\n"
           "  models: {file: models.csv, key: model}\n"
           "rules: rules\nalerts: {topic: \"alerts/{rule}/{key}\", qos: 1}\nadmin: {listen: \"off\"}\n";
}

const char* kRules = R"Y(rules:
  - rule: over-limit
    stream: sensors
    key: device
    pattern:
      - name: r
        where: value > table("models", table("devices", device).model).rated_temp
    emit:
      payload:
        limit: table("models", table("devices", r.device).model).rated_temp
        value: r.value
  - rule: no-profile
    stream: sensors
    key: device
    pattern:
      - name: r
        where: "!exists(table(\"devices\", device))"
    emit:
      payload:
        value: r.value
)Y";

// mosquitto_pub -r: a retained message (an empty payload clears the retained one and deletes the row).
void publish_retained(const TempDir& dir, int port, const std::string& topic, const std::string& payload) {
    ChildProcess p;
    std::vector<std::string> argv = {"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(port), "-q", "1", "-r",
                                     "-t", topic};
    if (payload.empty()) argv.push_back("-n");
    else argv.insert(argv.end(), {"-m", payload});
    REQUIRE(p.start(argv, dir.file("pub.out"), dir.file("pub.out")));
    REQUIRE(p.wait(10000) == 0);
}

struct Alert {
    std::string rule, id;
    double value = 0, limit = -1;
};

std::vector<Alert> parse_alerts(const std::vector<std::string>& payloads) {
    std::vector<Alert> out;
    for (const auto& p : payloads) {
        JsonDoc d;
        REQUIRE_MESSAGE(d.parse(p), p);
        Alert a;
        a.rule = std::string(d.root()["rule"].as_string());
        a.id = std::string(d.root()["id"].as_string());
        a.value = d.root()["payload"]["value"].as_number();
        if (d.root()["payload"]["limit"].is_number()) a.limit = d.root()["payload"]["limit"].as_number();
        out.push_back(a);
    }
    return out;
}

std::vector<Alert> received(const Collector& c) {
    std::vector<std::string> p;
    for (const auto& m : c.messages()) p.push_back(m.payload);
    return parse_alerts(p);
}

bool has_alert(const std::vector<Alert>& as, const std::string& rule, double value, double limit = -2) {
    for (const auto& a : as)
        if (a.rule == rule && a.value == value && (limit == -2 || a.limit == limit)) return true;
    return false;
}

// Sends readings of `value` (strictly increasing event times near the wall clock)
// until an alert of `rule` with `limit` comes back: the table change has reached
// the rules. Bounded; each probe is one more event flowing through.
class Prober {
public:
    Prober(Publisher& pub, Collector& alerts) : pub_(pub), alerts_(alerts) {}
    int64_t send(double value) {
        ts_ = std::max(ts_ + 1, wall_ms());
        REQUIRE(pub_.publish("factory/pump-1/telemetry", R"({"device":"pump-1","value":)" + std::to_string(value) +
                                                             R"(,"ts":)" + std::to_string(ts_) + "}"));
        return ts_;
    }
    bool until(const std::string& rule, double value, double limit) {
        for (int i = 0; i < 100; ++i) {
            send(value);
            if (eventually([&] { return has_alert(received(alerts_), rule, value, limit); }, 100)) return true;
        }
        return false;
    }

private:
    Publisher& pub_;
    Collector& alerts_;
    int64_t ts_ = 0;
};

}  // namespace

TEST_CASE("tables: rows from MQTT (retained, updated, deleted) and from a CSV file (reloaded) while events flow") {
    TempDir dir;
    Broker broker(dir);
    REQUIRE(broker.start());
    std::filesystem::create_directories(dir.file("rules"));
    dir.write("rules/limits.yaml", kRules);
    dir.write("models.csv", "model,rated_temp\nP100,80\nP200,95\nP300,\"unclosed\n");
    dir.write("vigil.yaml", config(broker.port(), dir, ""));
    // The initial state: a retained profile, published before vigil starts.
    publish_retained(dir, broker.port(), "factory/pump-1/profile", R"({"model":"P100"})");

    Collector alerts(broker.port(), "alerts/#");
    REQUIRE(alerts.connected());
    Daemon vigil(dir);
    REQUIRE_MESSAGE(vigil.start(), vigil.log());
    // The bad CSV line is reported with file:line and skipped; the others load.
    CHECK_MESSAGE(vigil.log().find("models.csv:4: unclosed quote") != std::string::npos, vigil.log());
    Publisher pub(broker.port());
    REQUIRE(pub.connected());
    Prober probe(pub, alerts);

    // P100 is rated 80: a reading of 85 is over.
    REQUIRE_MESSAGE(probe.until("over-limit", 85, 80), vigil.log());

    // The device moves to model P200 (rated 95) over MQTT while readings flow.
    publish_retained(dir, broker.port(), "factory/pump-1/profile", R"({"model":"P200"})");
    REQUIRE_MESSAGE(probe.until("over-limit", 200, 95), vigil.log());
    // From now on a 90 is fine and a 96 is not.
    probe.send(90);
    probe.send(96);
    REQUIRE(eventually([&] { return has_alert(received(alerts), "over-limit", 96, 95); }, 10000));
    CHECK_FALSE(has_alert(received(alerts), "over-limit", 90));

    // The file changes: P200 is now rated 85 (written aside, then moved in place).
    dir.write("models.next", "model,rated_temp\nP100,80\nP200,85\n");
    std::filesystem::rename(dir.file("models.next"), dir.file("models.csv"));
    REQUIRE_MESSAGE(probe.until("over-limit", 201, 85), vigil.log());
    probe.send(88);
    REQUIRE(eventually([&] { return has_alert(received(alerts), "over-limit", 88, 85); }, 10000));

    // An empty retained payload deletes the row: the device has no profile any more.
    CHECK_FALSE(has_alert(received(alerts), "no-profile", 300));
    publish_retained(dir, broker.port(), "factory/pump-1/profile", "");
    REQUIRE_MESSAGE(probe.until("no-profile", 300, -1), vigil.log());

    // A message that is not JSON is skipped and the daemon goes on.
    REQUIRE(pub.publish("factory/pump-2/profile", "not json"));
    REQUIRE(eventually([&] { return vigil.log().find("message on factory/pump-2/profile skipped") != std::string::npos; },
                       10000));
    vigil.proc.signal(SIGTERM);
    CHECK(vigil.proc.wait(10000) == 0);
}

TEST_CASE("tables: vigil replay with history: true sees each event's table as it was, without history as it is now") {
    TempDir dir;
    Broker broker(dir);
    REQUIRE(broker.start());
    std::filesystem::create_directories(dir.file("rules"));
    dir.write("rules/limits.yaml", kRules);
    dir.write("models.csv", "model,rated_temp\nP100,80\nP200,95\n");
    dir.write("vigil.yaml", config(broker.port(), dir, ", history: true"));

    Collector alerts(broker.port(), "alerts/#");
    REQUIRE(alerts.connected());
    Daemon vigil(dir);
    REQUIRE_MESSAGE(vigil.start(), vigil.log());
    Publisher pub(broker.port());
    REQUIRE(pub.connected());
    Prober probe(pub, alerts);

    publish_retained(dir, broker.port(), "factory/pump-1/profile", R"({"model":"P100"})");
    REQUIRE_MESSAGE(probe.until("over-limit", 85, 80), vigil.log());
    probe.send(90);  // over P100's 80: alerts live
    REQUIRE(eventually([&] { return has_alert(received(alerts), "over-limit", 90, 80); }, 10000));

    publish_retained(dir, broker.port(), "factory/pump-1/profile", R"({"model":"P200"})");
    REQUIRE_MESSAGE(probe.until("over-limit", 200, 95), vigil.log());
    probe.send(91);  // under P200's 95: no alert
    probe.send(97);
    REQUIRE(eventually([&] { return has_alert(received(alerts), "over-limit", 97, 95); }, 10000));
    CHECK_FALSE(has_alert(received(alerts), "over-limit", 91));
    auto live = received(alerts);
    vigil.proc.signal(SIGTERM);
    REQUIRE(vigil.proc.wait(10000) == 0);

    auto replay = [&](const std::string& cfg) {
        ChildProcess r;
        std::filesystem::remove(dir.file("replay.jsonl"));
        REQUIRE(r.start({VIGIL_BINARY, "replay", "-c", dir.file(cfg), "--from", "0", "--out", dir.file("replay.jsonl")},
                        dir.file("replay.out"), dir.file("replay.err")));
        REQUIRE_MESSAGE(r.wait(30000) == 0, read_file(dir.file("replay.err")));
        std::vector<std::string> lines;
        std::ifstream in(dir.file("replay.jsonl"));
        for (std::string l; std::getline(in, l);)
            if (!l.empty()) lines.push_back(l);
        return parse_alerts(lines);
    };

    // With history: the 90 (when pump-1 was a P100) alerts again, with the same id as live.
    auto with_history = replay("vigil.yaml");
    CHECK(has_alert(with_history, "over-limit", 90, 80));
    CHECK(has_alert(with_history, "over-limit", 97, 95));
    CHECK_FALSE(has_alert(with_history, "over-limit", 91));
    for (const auto& l : live) {
        if (l.rule != "over-limit" || (l.value != 90 && l.value != 97)) continue;
        bool same_id = false;
        for (const auto& r : with_history) same_id = same_id || r.id == l.id;
        CHECK_MESSAGE(same_id, "live alert " << l.id << " (value " << l.value << ") not raised by the replay");
    }

    // Without history the replay sees today's table (P200, 95): the 90 no longer alerts.
    dir.write("now.yaml", config(broker.port(), dir, ""));
    auto without = replay("now.yaml");
    CHECK_FALSE(has_alert(without, "over-limit", 90));
    CHECK(has_alert(without, "over-limit", 97, 95));
}
