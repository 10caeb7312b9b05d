#pragma once
// The admin HTTP API (docs/operations.md): metrics, health, rules, reload, rule
// enable/disable and per-key state inspection, served by cpp-httplib on its own
// threads (a pool of two).
//
// Guarantees:
//  - Listens on `listen` ("host:port", "[v6]:port"; loopback by default). "" or
//    "off" disables the server; start() then succeeds and serves nothing.
//  - With a non-empty token, every state-changing call (POST) needs
//    "Authorization: Bearer <token>" and gets 401 without it; GETs stay open.
//  - The server never touches engines or storage itself: it calls the callbacks,
//    which the daemon fills (cmd_run.cpp), and which are called from the server's
//    threads. A callback left empty answers 501.
//  - Answers are JSON (application/json) except /metrics (Prometheus text 0.0.4)
//    and /healthz (text).
// Failure modes: start() returns false with `error` when the address does not
// parse or cannot be bound; nothing throws out of a handler (an exception becomes
// a 500 with the message).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "patterns/runtime.h"

namespace httplib {
class Server;
}

namespace vigil {

struct AdminRuleInfo {
    std::string id, version, file;
    std::string status;      // "active", "disabled" (API), "disabled_in_file"
    std::string last_error;  // the last reload's error for this rule's file ("" when none)
    RuleCounters counters;
    uint64_t events = 0;
    size_t keys = 0;
    size_t state_bytes = 0;
};

struct ReloadOutcome {
    bool ok = false;
    size_t rules = 0;
    std::string message;
    std::vector<std::string> errors;  // diagnostics, "file:line:col: error: ..."
};

// One partition's view of a key for one rule.
struct KeyStateView {
    uint32_t partition = 0;
    std::string description;  // RuleRuntime::describe_key
    std::vector<std::pair<std::string, int64_t>> watermarks;  // stream -> watermark (INT64_MIN: none)
    size_t buffered = 0;      // events of the partition waiting for the watermark
};

struct AdminCallbacks {
    std::function<std::string()> metrics;              // Prometheus text
    std::function<bool(std::string& why_not)> ready;   // storage open and rules loaded
    std::function<std::vector<AdminRuleInfo>()> rules;
    std::function<ReloadOutcome()> reload;
    // false with `error` when the rule is unknown.
    std::function<bool(const std::string& id, bool enable, std::string& error)> set_rule_enabled;
    // nullopt with `error` when the rule is unknown or the workers did not answer.
    std::function<std::optional<std::vector<KeyStateView>>(const std::string& id, const std::string& key,
                                                           std::string& error)>
        key_state;
};

struct AdminOptions {
    std::string listen = "127.0.0.1:9464";
    std::string token;
};

// "127.0.0.1:9464" -> host, port; "[::1]:80" -> "::1", 80. False when malformed.
bool parse_listen_address(const std::string& listen, std::string& host, int& port);

class AdminServer {
public:
    AdminServer(AdminOptions options, AdminCallbacks callbacks);
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    bool start(std::string* error);
    void stop();
    bool enabled() const;
    int port() const { return port_; }  // the bound port (useful with port 0)

private:
    AdminOptions options_;
    AdminCallbacks callbacks_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    int port_ = 0;
};

// Route groups, one file each (admin_health.cpp, admin_rules.cpp).
void add_health_routes(httplib::Server& server, const AdminCallbacks& callbacks);
void add_rule_routes(httplib::Server& server, const AdminCallbacks& callbacks, const std::string& token);

}  // namespace vigil
