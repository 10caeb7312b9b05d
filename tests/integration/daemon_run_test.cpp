// `vigil run` end to end: a real mosquitto, the real binary, real LMDB in a temp
// folder. Events in over MQTT, alerts out over MQTT.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "rules/json.h"
#include "support/harness.h"

using namespace vigil;
using namespace vigil::test;

namespace {

// The demo config, pointed at this test's broker and data folder.
std::string demo_config(int port, const std::string& data_dir, const std::string& rules_dir) {
    std::string conf = read_file(std::string(VIGIL_SOURCE_DIR) + "/examples/demo/vigil.yaml");
    conf = std::regex_replace(conf, std::regex("port: 1883"), "port: " + std::to_string(port));
    conf = std::regex_replace(conf, std::regex("data_dir: ./data"), "data_dir: " + data_dir);
    conf = std::regex_replace(conf, std::regex("rules: ./rules"), "rules: " + rules_dir);
    return conf + "\nadmin: { listen: off }\n";  // not the default port, which another vigil may hold
}

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) out.push_back(l);
    return out;
}

}  // namespace

TEST_CASE("vigil run: events over MQTT raise the expected alerts, malformed payloads are counted and skipped") {
    TempDir dir;
    Broker broker(dir);
    REQUIRE(broker.start());
    std::string src = VIGIL_SOURCE_DIR;
    dir.write("vigil.yaml", demo_config(broker.port(), dir.file("data"), src + "/examples/demo/rules"));

    Collector alerts(broker.port(), "vigil/alerts/#");
    REQUIRE(alerts.connected());
    Daemon vigil(dir);
    REQUIRE_MESSAGE(vigil.start(), vigil.log());

    Publisher pub(broker.port());
    REQUIRE(pub.connected());
    for (const auto& l : lines_of(src + "/examples/demo/sensors.jsonl")) REQUIRE(pub.publish("factory/line1/telemetry", l));
    for (const auto& l : lines_of(src + "/examples/demo/transactions.jsonl")) REQUIRE(pub.publish("bank/tx", l));
    REQUIRE(pub.wait_acked(10000));

    // The last events are released by the idle timeout (3 s of wall clock).
    REQUIRE_MESSAGE(alerts.wait_for(3, 30000), vigil.log());
    // Nothing more arrives: the idle watermark fires everything within a few seconds.
    CHECK_FALSE(alerts.wait_for(4, 4000));

    std::map<std::string, std::string> by_rule;
    for (const auto& m : alerts.messages()) {
        JsonDoc doc;
        REQUIRE_MESSAGE(doc.parse(m.payload), m.payload);
        auto a = doc.root();
        std::string rule(a["rule"].as_string());
        std::string key(a["key"].as_string());
        CHECK(m.topic == "vigil/alerts/" + rule + "/" + key);
        CHECK(a["id"].as_string().size() == 16);
        CHECK(a["version"].as_string().size() == 8);
        CHECK(a["kind"].as_string() == "match");
        by_rule[rule] = key;
        if (rule == "pump-overheat") {
            CHECK(a["severity"].as_string() == "high");
            CHECK(a["events"]["hot"].size() == 3);
            CHECK(a["payload"]["peak"].as_number() == doctest::Approx(96.2));
            CHECK(a["time"].as_number() == 1767225631000.0);
            CHECK(a["offsets"]["hot"].size() == 3);
        }
        if (rule == "card-testing") {
            CHECK(a["events"]["small"].size() == 3);
            CHECK(a["payload"]["big_amount"].as_number() == doctest::Approx(899.0));
        }
    }
    CHECK(by_rule["pump-overheat"] == "pump-7");
    CHECK(by_rule["card-testing"] == "c-1001");
    CHECK(by_rule["large-transaction"] == "c-3003");

    // The two bad payloads were rejected with their reasons, and the daemon went on.
    std::string log = vigil.log();
    CHECK(log.find("not_json") != std::string::npos);
    CHECK(log.find("no_key") != std::string::npos);

    vigil.proc.signal(SIGTERM);
    CHECK(vigil.proc.wait(10000) == 0);
}

TEST_CASE("vigil run: a config error is reported with file, line and column, and the exit code is 1") {
    TempDir dir;
    dir.write("vigil.yaml", "data_dir: " + dir.file("data") + "\npartitons: 4\n");
    ChildProcess p;
    REQUIRE(p.start({VIGIL_BINARY, "run", "-c", dir.file("vigil.yaml")}, dir.file("out"), dir.file("err")));
    CHECK(p.wait(10000) == 1);
    std::string err = read_file(dir.file("err"));
    CHECK_MESSAGE(err.find("vigil.yaml:2:1: error: unknown key \"partitons\" (did you mean \"partitions\"?)") !=
                      std::string::npos,
                  err);
}
