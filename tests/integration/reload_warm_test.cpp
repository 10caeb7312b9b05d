// Hot reload, end to end: warm_start catches a pattern whose start was stored
// before the rule was added; SIGHUP re-reads vigil.yaml and refuses restart-only
// settings by name while the rest applies.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>

#include "rules/json.h"
#include "support/harness.h"

using namespace vigil;
using namespace vigil::test;

namespace {

std::string config(int port, const TempDir& dir, const std::string& data = "data", const std::string& level = "info") {
    return "data_dir: " + dir.file(data) + "\npartitions: 2\nmqtt: { host: 127.0.0.1, port: " + std::to_string(port) +
           ", client_id: vigil-warm }\n"
           "streams:\n  dev:\n    topic: dev/+\n    key: d\n"
           "    time: { field: ts, format: epoch_ms, max_out_of_order: 0s, idle_timeout: 1s }\n"
           "rules: " + dir.file("rules") + "\nadmin: { listen: off }\nlog: { level: " + level + " }\n";
}

std::string single(const std::string& id, const std::string& type) {
    return "- rule: " + id + "\n  stream: dev\n  pattern:\n    - name: one\n      where: type == \"" + type + "\"\n";
}

std::string pair_rule(const std::string& id, const std::string& extra) {
    return "- rule: " + id + "\n  stream: dev\n" + extra +
           "  pattern:\n    - name: start\n      where: type == \"start\"\n"
           "    - name: end\n      where: type == \"end\"\n";
}

std::string ev(const std::string& d, const std::string& type, int64_t ts) {
    return "{\"d\":\"" + d + "\",\"type\":\"" + type + "\",\"ts\":" + std::to_string(ts) + "}";
}

size_t count_rule(const Collector& c, const std::string& rule) { return c.messages("vigil/alerts/" + rule + "/").size(); }

}  // namespace

TEST_CASE("reload: a rule added with warm_start catches a pattern begun before it, SIGHUP refuses data_dir") {
    TempDir dir;
    Broker broker(dir);
    REQUIRE(broker.start());
    dir.write("vigil.yaml", config(broker.port(), dir));
    std::filesystem::create_directories(dir.file("rules"));
    dir.write("rules/base.yaml", single("probe1", "probe1"));

    Collector alerts(broker.port(), "vigil/alerts/#");
    REQUIRE(alerts.connected());
    Daemon vigil(dir);
    auto log = [&] { return vigil.log(); };
    REQUIRE_MESSAGE(vigil.start(), log());
    Publisher pub(broker.port());
    REQUIRE(pub.connected());

    // Event time follows the wall clock: an idle stream's watermark moves with it.
    int64_t last = 0;
    auto now = [&] {
        int64_t w = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
        return last = std::max(last + 1, w);
    };
    // The pattern starts for d1 and d2 before the rules exist; probe1 proves it was processed.
    REQUIRE(pub.publish("dev/d1", ev("d1", "start", now())));
    REQUIRE(pub.publish("dev/d2", ev("d2", "start", now())));
    REQUIRE(pub.publish("dev/d1", ev("d1", "probe1", now())));
    REQUIRE_MESSAGE(eventually([&] { return count_rule(alerts, "probe1") == 1; }, 15000), log());

    // Add the rules: `warm` replays the last hour of the log first, `cold` starts empty.
    dir.write("rules/new.yaml", pair_rule("warm", "  warm_start: 1h\n") + pair_rule("cold", "") +
                                    single("probe2", "probe2"));
    REQUIRE_MESSAGE(eventually([&] { return log().find("reload (watcher): 4 rules") != std::string::npos; }, 10000),
                    log());
    // probe2 raising an alert proves the workers swapped the new set in.
    REQUIRE(pub.publish("dev/d1", ev("d1", "probe2", now())));
    REQUIRE_MESSAGE(eventually([&] { return count_rule(alerts, "probe2") >= 1; }, 15000), log());
    CHECK(count_rule(alerts, "warm") == 0);  // the warm-up raised nothing

    REQUIRE(pub.publish("dev/d1", ev("d1", "end", now())));
    REQUIRE(pub.publish("dev/d2", ev("d2", "end", now())));
    REQUIRE_MESSAGE(eventually([&] { return count_rule(alerts, "warm") == 2; }, 15000), log());
    // Alerts of one event are committed together: the cold rule's would be here by now.
    REQUIRE(pub.publish("dev/d1", ev("d1", "probe2", now())));
    REQUIRE_MESSAGE(eventually([&] { return count_rule(alerts, "probe2") >= 2; }, 15000), log());
    CHECK(count_rule(alerts, "cold") == 0);

    // SIGHUP with a new data_dir and log level: data_dir is refused by name, the level applies.
    dir.write("vigil.yaml", config(broker.port(), dir, "elsewhere", "debug"));
    vigil.proc.signal(SIGHUP);
    REQUIRE_MESSAGE(eventually([&] { return log().find("reload (sighup)") != std::string::npos; }, 10000), log());
    CHECK(log().find("data_dir cannot change without a restart") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("elsewhere")));

    // An invalid edit: logged with file:line:col, and events still flow.
    dir.write("rules/new.yaml", "- rule: warm\n  stream: dev\n  pattern: {}\n");
    REQUIRE_MESSAGE(eventually([&] { return log().find("the running rules stay") != std::string::npos; }, 10000),
                    log());
    CHECK(log().find("new.yaml:3:") != std::string::npos);
    REQUIRE(pub.publish("dev/d1", ev("d1", "probe2", now())));
    REQUIRE_MESSAGE(eventually([&] { return count_rule(alerts, "probe2") >= 3; }, 15000), log());

    vigil.proc.signal(SIGTERM);
    CHECK(vigil.proc.wait(10000) == 0);
}
