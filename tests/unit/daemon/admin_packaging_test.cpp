// packaging/: the sample /etc/vigil/vigil.yaml loads cleanly, and the systemd unit
// keeps the promises docs/operations.md makes (notify, checked start and reload).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "daemon/admin_server.h"
#include "daemon/config.h"

using namespace vigil;

TEST_CASE("packaging: the sample vigil.yaml loads without a problem, admin stays on loopback") {
    Diagnostics diags;
    auto cfg = load_config(std::string(VIGIL_SOURCE_DIR) + "/packaging/vigil.yaml", diags);
    std::string all;
    for (const auto& d : diags.items()) all += d.to_string() + "\n";
    REQUIRE_MESSAGE(cfg, all);
    CHECK_MESSAGE(diags.items().empty(), all);
    std::string host;
    int port = 0;
    REQUIRE(parse_listen_address(cfg->admin.listen, host, port));
    CHECK(host == "127.0.0.1");
    CHECK_FALSE(cfg->admin.token.empty());
    CHECK(cfg->mqtt.tls.enabled());
    CHECK_FALSE(cfg->mqtt.password_file.empty());
}

TEST_CASE("packaging: vigil.service is Type=notify, checks before start and before reload") {
    std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/packaging/vigil.service");
    REQUIRE(in);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string unit = ss.str();
    CHECK(unit.find("\nType=notify\n") != std::string::npos);
    CHECK(unit.find("\nWatchdogSec=") != std::string::npos);
    CHECK(unit.find("\nExecStartPre=/usr/bin/vigil check -c /etc/vigil/vigil.yaml\n") != std::string::npos);
    size_t check = unit.find("\nExecReload=/usr/bin/vigil check");
    size_t hup = unit.find("\nExecReload=/bin/kill -HUP $MAINPID");
    REQUIRE(check != std::string::npos);
    REQUIRE(hup != std::string::npos);
    CHECK(check < hup);
}
