// The admin HTTP API of the real daemon: metrics, health, rules, per-key state,
// rule disable/enable and reload, with a real broker and real storage.
#include <doctest/doctest.h>
#include <httplib.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <regex>

#include "support/harness.h"

using namespace vigil;
using namespace vigil::test;

namespace {

const char* kRule = R"(rule: pump-overheat
description: Three hot readings on one pump within two minutes
stream: sensors
key: device
severity: high
pattern:
  - name: hot
    where: value > 90
    times: 3
within: 2m
)";

std::string config(int mqtt_port, int admin_port, const TempDir& dir) {
    return "data_dir: " + dir.file("data") + "\npartitions: 4\nmqtt: { host: 127.0.0.1, port: " +
           std::to_string(mqtt_port) + ", client_id: vigil-admin-test }\n" +
           "streams:\n  sensors:\n    topic: factory/+/telemetry\n    qos: 1\n    key: device\n"
           "    time: { field: ts, format: epoch_ms, max_out_of_order: 0s }\n"
           "rules: " + dir.file("rules") + "\n" +
           "admin: { listen: 127.0.0.1:" + std::to_string(admin_port) + ", token: t0k }\n" +
           "log: { level: info, format: json }\n";
}

std::string reading(const std::string& device, int64_t ts, double value) {
    return R"({"device":")" + device + R"(","ts":)" + std::to_string(ts) + R"(,"value":)" + std::to_string(value) + "}";
}

// A datagram socket standing in for systemd's $NOTIFY_SOCKET.
struct NotifySocket {
    int fd = -1;
    std::string path;
    explicit NotifySocket(const TempDir& dir) : path(dir.file("notify.sock")) {
        fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::memcpy(sa.sun_path, path.data(), std::min(path.size(), sizeof(sa.sun_path) - 1));
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
        timeval tv{0, 100000};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~NotifySocket() { ::close(fd); }
    // Reads datagrams until one starts with `prefix` (true) or timeout_ms passes.
    bool wait_for(const std::string& prefix, int timeout_ms) {
        return eventually([&] {
            char buf[1024];
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            return n > 0 && std::string(buf, static_cast<size_t>(n)).rfind(prefix, 0) == 0;
        }, timeout_ms);
    }
};

// The value of one sample line of the Prometheus text ("" when absent).
std::string sample(const std::string& metrics, const std::string& series) {
    size_t at = metrics.find("\n" + series + " ");
    if (at == std::string::npos) return "";
    size_t b = at + series.size() + 2;
    return metrics.substr(b, metrics.find('\n', b) - b);
}

}  // namespace

TEST_CASE("admin API: metrics, rule list, per-key state, disable/enable and reload on the running daemon") {
    TempDir dir;
    Broker broker(dir);
    REQUIRE(broker.start());
    int admin_port = free_port();
    ::mkdir(dir.file("rules").c_str(), 0755);
    dir.write("rules/pump.yaml", kRule);
    dir.write("vigil.yaml", config(broker.port(), admin_port, dir));

    Collector alerts(broker.port(), "vigil/alerts/#");
    REQUIRE(alerts.connected());
    // As under systemd: vigil inherits NOTIFY_SOCKET and WATCHDOG_USEC.
    NotifySocket notify(dir);
    ::setenv("NOTIFY_SOCKET", notify.path.c_str(), 1);
    ::setenv("WATCHDOG_USEC", "200000", 1);
    ChildProcess vigil;
    bool started = vigil.start({VIGIL_BINARY, "run", "-c", dir.file("vigil.yaml")}, dir.file("out"), dir.file("err"));
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    REQUIRE(started);
    auto log = [&] { return read_file(dir.file("err")); };
    REQUIRE_MESSAGE(notify.wait_for("READY=1", 15000), log());
    CHECK(notify.wait_for("WATCHDOG=1", 5000));
    REQUIRE_MESSAGE(wait_port(admin_port, 15000), log());
    httplib::Client http("127.0.0.1", admin_port);
    httplib::Headers auth{{"Authorization", "Bearer t0k"}};
    REQUIRE(eventually([&] { auto r = http.Get("/readyz"); return r && r->status == 200; }, 10000));
    auto h = http.Get("/healthz");
    REQUIRE(h);
    CHECK(h->status == 200);
    // log.format json: every line is one JSON object.
    CHECK_MESSAGE(log().find(R"("level":"info","msg":"ready: 1 rules)") != std::string::npos, log());

    Publisher pub(broker.port());
    REQUIRE(pub.connected());
    const int64_t t0 = 1767225600000;
    REQUIRE(pub.publish("factory/a/telemetry", reading("pump-7", t0, 91)));
    REQUIRE(pub.publish("factory/a/telemetry", reading("pump-7", t0 + 10000, 92)));
    REQUIRE(pub.publish("factory/a/telemetry", "not json"));
    REQUIRE(pub.wait_acked(5000));

    // Why didn't this fire? Two of three hot readings are held for pump-7.
    std::string state;
    REQUIRE_MESSAGE(eventually([&] {
                        auto r = http.Get("/api/v1/rules/pump-overheat/state?key=pump-7");
                        state = r ? r->body : "";
                        return r && r->status == 200 && state.find("(2 taken)") != std::string::npos;
                    }, 10000),
                    state);
    CHECK(state.find(R"("watermarks":{"sensors":)" + std::to_string(t0 + 10000) + "}") != std::string::npos);
    auto r = http.Get("/api/v1/rules/pump-overheat/state?key=pump-1");
    REQUIRE(r);
    CHECK(r->body.find("no partial matches for key pump-1") != std::string::npos);
    r = http.Get("/api/v1/rules/nope/state?key=pump-7");
    REQUIRE(r);
    CHECK(r->status == 404);

    std::string m;
    REQUIRE(eventually([&] {
        auto mr = http.Get("/metrics");
        m = mr ? mr->body : "";
        // Per-rule figures are snapshots the workers refresh every 100 ms.
        return sample(m, R"(vigil_rule_evaluations_total{rule="pump-overheat"})") == "2" &&
               sample(m, "vigil_engine_events_processed_total") == "2";
    }, 10000));
    CHECK(sample(m, R"(vigil_events_received_total{stream="sensors"})") == "3");
    CHECK(sample(m, "vigil_events_accepted_total") == "2");
    CHECK(sample(m, R"(vigil_events_rejected_total{reason="not_json"})") == "1");
    CHECK(sample(m, R"(vigil_rule_keys{rule="pump-overheat"})") == "1");
    CHECK(sample(m, R"(vigil_rule_enabled{rule="pump-overheat"})") == "1");
    CHECK(sample(m, R"(vigil_mqtt_connected{role="source"})") == "1");
    CHECK(sample(m, "vigil_ready") == "1");
    CHECK(sample(m, R"(vigil_consumer_lag_records{partition="0"})") != "");
    CHECK(m.find("# TYPE vigil_events_accepted_total counter") != std::string::npos);
    CHECK_MESSAGE(m.find("pump-7") == std::string::npos, "device ids must never be labels");

    // Disable: POST needs the token; a disabled rule sees nothing and raises nothing.
    r = http.Post("/api/v1/rules/pump-overheat/disable");
    REQUIRE(r);
    CHECK(r->status == 401);
    r = http.Post("/api/v1/rules/pump-overheat/disable", auth, "", "text/plain");
    REQUIRE(r);
    CHECK(r->status == 200);
    r = http.Get("/api/v1/rules");
    REQUIRE(r);
    CHECK(r->body.find(R"("id":"pump-overheat")") != std::string::npos);
    CHECK(r->body.find(R"("status":"disabled")") != std::string::npos);
    CHECK(r->body.find(R"("file":")" + dir.file("rules/pump.yaml")) != std::string::npos);
    REQUIRE(eventually([&] {
        auto s = http.Get("/api/v1/rules/pump-overheat/state?key=pump-7");
        return s && s->body.find("rule not running") != std::string::npos;
    }, 5000));
    for (int i = 0; i < 3; ++i) REQUIRE(pub.publish("factory/a/telemetry", reading("pump-9", t0 + 20000 + i, 95)));
    REQUIRE(pub.wait_acked(5000));
    REQUIRE(eventually([&] {
        auto mr = http.Get("/metrics");
        return mr && sample(mr->body, "vigil_engine_events_processed_total") == "5";
    }, 10000));

    // Enable again: it starts fresh and fires on three new hot readings.
    r = http.Post("/api/v1/rules/pump-overheat/enable", auth, "", "text/plain");
    REQUIRE(r);
    CHECK(r->status == 200);
    REQUIRE(eventually([&] {
        auto s = http.Get("/api/v1/rules/pump-overheat/state?key=pump-5");
        return s && s->body.find("no partial matches") != std::string::npos;
    }, 5000));
    for (int i = 0; i < 3; ++i) REQUIRE(pub.publish("factory/a/telemetry", reading("pump-5", t0 + 30000 + i, 96)));
    REQUIRE(pub.wait_acked(5000));
    REQUIRE_MESSAGE(alerts.wait_for(1, 10000), log());
    auto got = alerts.messages();
    CHECK(got.size() == 1);
    CHECK(got[0].topic == "vigil/alerts/pump-overheat/pump-5");  // nothing for pump-9 while disabled

    // Reload: a good one, then a broken rule file (the running rule stays, with its error).
    r = http.Post("/api/v1/reload", auth, "", "text/plain");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.find(R"("ok":true,"rules":1)") != std::string::npos);
    CHECK(notify.wait_for("RELOADING=1\nMONOTONIC_USEC=", 5000));
    CHECK(notify.wait_for("READY=1", 5000));
    dir.write("rules/pump.yaml", std::string(kRule) + "bogus_key: 1\n");
    r = http.Post("/api/v1/reload", auth, "", "text/plain");
    REQUIRE(r);
    CHECK(r->status == 422);
    CHECK(r->body.find("bogus_key") != std::string::npos);
    r = http.Get("/api/v1/rules");
    REQUIRE(r);
    CHECK(r->body.find(R"("status":"active")") != std::string::npos);
    CHECK(r->body.find("bogus_key") != std::string::npos);
    auto mr = http.Get("/metrics");
    REQUIRE(mr);
    CHECK(sample(mr->body, R"(vigil_config_reloads_total{result="success"})") == "1");
    CHECK(sample(mr->body, R"(vigil_config_reloads_total{result="failure"})") == "1");
    CHECK(sample(mr->body, "vigil_config_last_reload_successful") == "0");

    vigil.signal(SIGTERM);
    CHECK(notify.wait_for("STOPPING=1", 5000));
    CHECK(vigil.wait(10000) == 0);
}

TEST_CASE("admin API: a port already in use stops the daemon with a clear error") {
    TempDir dir;
    Broker broker(dir);
    REQUIRE(broker.start());
    httplib::Server blocker;
    int port = blocker.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    ::mkdir(dir.file("rules").c_str(), 0755);
    dir.write("rules/pump.yaml", kRule);
    dir.write("vigil.yaml", config(broker.port(), port, dir));
    ChildProcess vigil;
    REQUIRE(vigil.start({VIGIL_BINARY, "run", "-c", dir.file("vigil.yaml")}, dir.file("out"), dir.file("err")));
    CHECK(vigil.wait(15000) == 1);
    std::string err = read_file(dir.file("err"));
    CHECK_MESSAGE(err.find("admin: cannot listen on 127.0.0.1:" + std::to_string(port)) != std::string::npos, err);
}
