// Hot reload with `state_on_change: keep`, end to end (docs/reload.md): a window
// rule whose threshold changes keeps counting in its open window; one whose window
// size changes is reset, and the log names why.
#include <doctest/doctest.h>

#include <signal.h>

#include <filesystem>

#include "rules/json.h"
#include "support/harness.h"

using namespace vigil;
using namespace vigil::test;

namespace {

// No idle advance (1h): event times are fixed, so the one-hour windows stay open.
std::string config(int port, const TempDir& dir) {
    return "data_dir: " + dir.file("data") + "\npartitions: 2\nmqtt: { host: 127.0.0.1, port: " + std::to_string(port) +
           ", client_id: vigil-keep }\n"
           "streams:\n  dev:\n    topic: dev/+\n    key: d\n"
           "    time: { field: ts, format: epoch_ms, max_out_of_order: 0s, idle_timeout: 1h }\n"
           "rules: " + dir.file("rules") + "\nadmin: { listen: off }\nlog: { level: info }\n";
}

std::string window_rule(const std::string& id, const std::string& size, int threshold) {
    return "- rule: " + id + "\n  stream: dev\n  where: type == \"tick\"\n  state_on_change: keep\n"
           "  window: {type: tumbling, size: " + size + "}\n  aggregate:\n    n: count()\n"
           "  emit_when: on_update\n  having: n >= " + std::to_string(threshold) + "\n";
}

std::string probe(const std::string& type) {
    return "- rule: " + type + "\n  stream: dev\n  pattern:\n    - name: one\n      where: type == \"" + type + "\"\n";
}

std::string ev(const std::string& type, int64_t ts) {
    return "{\"d\":\"d1\",\"type\":\"" + type + "\",\"ts\":" + std::to_string(ts) + "}";
}

std::vector<ReceivedMessage> of_rule(const Collector& c, const std::string& rule) {
    return c.messages("vigil/alerts/" + rule + "/");
}

}  // namespace

TEST_CASE("reload: state_on_change keep, a window rule's threshold changes and its count goes on") {
    TempDir dir;
    Broker broker(dir);
    REQUIRE(broker.start());
    dir.write("vigil.yaml", config(broker.port(), dir));
    std::filesystem::create_directories(dir.file("rules"));
    dir.write("rules/r.yaml", window_rule("counter", "1h", 10) + window_rule("resized", "1h", 10) + probe("probe1"));

    Collector alerts(broker.port(), "vigil/alerts/#");
    REQUIRE(alerts.connected());
    Daemon vigil(dir);
    auto log = [&] { return vigil.log(); };
    REQUIRE_MESSAGE(vigil.start(), log());
    Publisher pub(broker.port());
    REQUIRE(pub.connected());

    // Three ticks in the window [0, 1h), below the threshold of 10.
    for (int64_t t : {1000, 2000, 3000}) REQUIRE(pub.publish("dev/d1", ev("tick", t)));
    REQUIRE(pub.publish("dev/d1", ev("probe1", 3500)));
    REQUIRE_MESSAGE(eventually([&] { return of_rule(alerts, "probe1").size() == 1; }, 15000), log());
    CHECK(alerts.messages().size() == 1);

    // Threshold 10 -> 4: compatible, kept. Size 1h -> 2h: incompatible, reset.
    dir.write("rules/r.yaml", window_rule("counter", "1h", 4) + window_rule("resized", "2h", 4) + probe("probe2"));
    REQUIRE_MESSAGE(eventually([&] { return log().find("reload (watcher): 3 rules") != std::string::npos; }, 10000),
                    log());
    CHECK(log().find("reload: rule counter changed: state_on_change: keep: its state is kept") != std::string::npos);
    CHECK(log().find("reload: rule resized changed: state_on_change: keep, but the window size changed: its state is "
                     "reset") != std::string::npos);
    REQUIRE(pub.publish("dev/d1", ev("probe2", 3600)));
    REQUIRE_MESSAGE(eventually([&] { return of_rule(alerts, "probe2").size() == 1; }, 15000), log());

    // The fourth tick: counter has counted 4 (3 before the reload) and fires; resized
    // starts again from 1.
    REQUIRE(pub.publish("dev/d1", ev("tick", 4000)));
    REQUIRE_MESSAGE(eventually([&] { return of_rule(alerts, "counter").size() == 1; }, 15000), log());
    JsonDoc doc;
    auto counter = of_rule(alerts, "counter");
    REQUIRE(doc.parse(counter[0].payload));
    CHECK(doc.root()["values"]["n"].as_number() == 4);
    // A later probe's alert is here, so resized's would be too: it has none.
    REQUIRE(pub.publish("dev/d1", ev("probe2", 4500)));
    REQUIRE_MESSAGE(eventually([&] { return of_rule(alerts, "probe2").size() == 2; }, 15000), log());
    CHECK(of_rule(alerts, "resized").empty());

    vigil.proc.signal(SIGTERM);
    CHECK(vigil.proc.wait(10000) == 0);
}
