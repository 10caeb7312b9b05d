// AdminServer: routing, bearer token, JSON answers, over real HTTP on loopback.
// The callbacks here are the daemon's contract with the server; the daemon's own
// callbacks are exercised end to end in tests/integration/admin_api_test.cpp.
#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <climits>

#include "daemon/admin_server.h"
#include "daemon/metrics.h"

using namespace vigil;

namespace {

struct Fixture {
    MetricsRegistry registry;
    std::atomic<int> reloads{0};
    std::atomic<bool> ready{false};
    std::vector<std::string> enabled_calls;
    AdminCallbacks callbacks() {
        registry.declare("vigil_up", MetricType::Gauge, "up");
        registry.set("vigil_up", {}, 1);
        AdminCallbacks cb;
        cb.metrics = [this] { return registry.render(); };
        cb.ready = [this](std::string& why) {
            why = "rules not loaded";
            return ready.load();
        };
        cb.rules = [] {
            AdminRuleInfo r;
            r.id = "door-forced";
            r.version = "0a1b2c3d";
            r.file = "rules/doors.yaml";
            r.status = "active";
            r.counters.matches = 2;
            return std::vector<AdminRuleInfo>{r};
        };
        cb.reload = [this] {
            AdminReloadResult o;
            o.ok = ++reloads != 2;  // the second reload "fails"
            o.rules = 1;
            if (!o.ok) o.errors.push_back("rules/doors.yaml:3:1: error: bad \"thing\"");
            return o;
        };
        cb.set_rule_enabled = [this](const std::string& id, bool on, std::string& err) {
            if (id != "door-forced") {
                err = "unknown rule '" + id + "'";
                return false;
            }
            enabled_calls.push_back(id + (on ? ":on" : ":off"));
            return true;
        };
        cb.key_state = [](const std::string& id, const std::string& key,
                          std::string& err) -> std::optional<std::vector<KeyStateView>> {
            if (id != "door-forced") {
                err = "unknown rule '" + id + "'";
                return std::nullopt;
            }
            KeyStateView v;
            v.partition = 3;
            v.description = "1 partial match(es) for key " + key;
            v.watermarks = {{"doors", 1000}, {"cards", INT64_MIN}};
            return std::vector<KeyStateView>{v};
        };
        return cb;
    }
};

}  // namespace

TEST_CASE("admin: listen addresses parse or are refused") {
    std::string host;
    int port = -1;
    CHECK(parse_listen_address("127.0.0.1:9464", host, port));
    CHECK(host == "127.0.0.1");
    CHECK(port == 9464);
    CHECK(parse_listen_address("[::1]:0", host, port));
    CHECK(host == "::1");
    CHECK(port == 0);
    CHECK_FALSE(parse_listen_address("127.0.0.1", host, port));
    CHECK_FALSE(parse_listen_address(":9464", host, port));
    CHECK_FALSE(parse_listen_address("::1:9464", host, port));
    CHECK_FALSE(parse_listen_address("127.0.0.1:99999", host, port));
    CHECK_FALSE(parse_listen_address("127.0.0.1:12x", host, port));
}

TEST_CASE("admin: off means no server, a bad address is a clear error") {
    AdminServer off({"off", ""}, {});
    std::string err;
    CHECK(off.start(&err));
    CHECK_FALSE(off.enabled());
    AdminServer bad({"localhost", ""}, {});
    CHECK_FALSE(bad.start(&err));
    CHECK(err.find("admin.listen") != std::string::npos);
}

TEST_CASE("admin: endpoints answer, and POSTs need the bearer token") {
    Fixture fx;
    AdminServer server({"127.0.0.1:0", "s3cret"}, fx.callbacks());
    std::string err;
    REQUIRE(server.start(&err));
    REQUIRE(server.port() > 0);
    httplib::Client http("127.0.0.1", server.port());
    httplib::Headers auth{{"Authorization", "Bearer s3cret"}};

    auto r = http.Get("/metrics");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.find("vigil_up 1\n") != std::string::npos);
    CHECK(r->get_header_value("Content-Type").find("version=0.0.4") != std::string::npos);

    r = http.Get("/healthz");
    REQUIRE(r);
    CHECK(r->status == 200);
    r = http.Get("/readyz");
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(r->body.find("rules not loaded") != std::string::npos);
    fx.ready = true;
    r = http.Get("/readyz");
    REQUIRE(r);
    CHECK(r->status == 200);

    r = http.Get("/api/v1/rules");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.find(R"("id":"door-forced","version":"0a1b2c3d","file":"rules/doors.yaml","status":"active")") !=
          std::string::npos);
    CHECK(r->body.find(R"("matches":2)") != std::string::npos);

    // Without or with a wrong token: 401, and the callback is not called.
    r = http.Post("/api/v1/reload");
    REQUIRE(r);
    CHECK(r->status == 401);
    r = http.Post("/api/v1/reload", httplib::Headers{{"Authorization", "Bearer wrong!"}}, "", "text/plain");
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK(fx.reloads == 0);
    r = http.Post("/api/v1/reload", auth, "", "text/plain");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.find(R"("ok":true)") != std::string::npos);
    r = http.Post("/api/v1/reload", auth, "", "text/plain");
    REQUIRE(r);
    CHECK(r->status == 422);
    CHECK(r->body.find(R"(error: bad \"thing\")") != std::string::npos);

    r = http.Post("/api/v1/rules/door-forced/disable");
    REQUIRE(r);
    CHECK(r->status == 401);
    r = http.Post("/api/v1/rules/door-forced/disable", auth, "", "text/plain");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.find(R"("status":"disabled")") != std::string::npos);
    r = http.Post("/api/v1/rules/door-forced/enable", auth, "", "text/plain");
    REQUIRE(r);
    CHECK(r->status == 200);
    r = http.Post("/api/v1/rules/nope/enable", auth, "", "text/plain");
    REQUIRE(r);
    CHECK(r->status == 404);
    CHECK(fx.enabled_calls == std::vector<std::string>{"door-forced:off", "door-forced:on"});

    r = http.Get("/api/v1/rules/door-forced/state?key=door%207");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.find(R"("key":"door 7")") != std::string::npos);
    CHECK(r->body.find(R"("watermarks":{"doors":1000,"cards":null})") != std::string::npos);
    CHECK(r->body.find(R"("state":"1 partial match(es) for key door 7")") != std::string::npos);
    r = http.Get("/api/v1/rules/door-forced/state");
    REQUIRE(r);
    CHECK(r->status == 400);
    r = http.Get("/api/v1/rules/nope/state?key=x");
    REQUIRE(r);
    CHECK(r->status == 404);
    r = http.Get("/api/v1/nothing-here");
    REQUIRE(r);
    CHECK(r->status == 404);
    server.stop();
}

TEST_CASE("admin: without a token, POSTs are open, a port in use is refused") {
    Fixture fx;
    AdminServer a({"127.0.0.1:0", ""}, fx.callbacks());
    std::string err;
    REQUIRE(a.start(&err));
    httplib::Client http("127.0.0.1", a.port());
    auto r = http.Post("/api/v1/reload");
    REQUIRE(r);
    CHECK(r->status == 200);
    AdminServer b({"127.0.0.1:" + std::to_string(a.port()), ""}, fx.callbacks());
    CHECK_FALSE(b.start(&err));
    CHECK(err.find("cannot listen") != std::string::npos);
}
