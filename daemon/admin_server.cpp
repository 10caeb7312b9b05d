#include "daemon/admin_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "rules/json.h"

namespace vigil {

bool parse_listen_address(const std::string& listen, std::string& host, int& port) {
    size_t colon;
    if (!listen.empty() && listen[0] == '[') {
        size_t close = listen.find(']');
        if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') return false;
        host = listen.substr(1, close - 1);
        colon = close + 1;
    } else {
        colon = listen.rfind(':');
        if (colon == std::string::npos) return false;
        host = listen.substr(0, colon);
        if (host.find(':') != std::string::npos) return false;  // a v6 address needs brackets
    }
    if (host.empty()) return false;
    const char* b = listen.data() + colon + 1;
    const char* e = listen.data() + listen.size();
    auto [p, ec] = std::from_chars(b, e, port);
    return ec == std::errc() && p == e && b != e && port >= 0 && port <= 65535;
}

AdminServer::AdminServer(AdminOptions options, AdminCallbacks callbacks)
    : options_(std::move(options)), callbacks_(std::move(callbacks)) {}

AdminServer::~AdminServer() { stop(); }

bool AdminServer::enabled() const { return !options_.listen.empty() && options_.listen != "off"; }

bool AdminServer::start(std::string* error) {
    if (!enabled()) return true;
    std::string host;
    int port = 0;
    if (!parse_listen_address(options_.listen, host, port)) {
        if (error) *error = "admin.listen: expected host:port, got '" + options_.listen + "'";
        return false;
    }
    server_ = std::make_unique<httplib::Server>();
    server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
    // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second daemon share the port silently.
    server_->set_socket_options([](int sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    server_->set_read_timeout(5, 0);
    server_->set_write_timeout(5, 0);
    server_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        std::string body = "{\"error\":";
        json_escape(body, what);
        body += "}\n";
        res.status = 500;
        res.set_content(body, "application/json");
    });
    add_health_routes(*server_, callbacks_);
    add_rule_routes(*server_, callbacks_, options_.token);
    if (port == 0) {
        port_ = server_->bind_to_any_port(host);
        if (port_ <= 0) port_ = 0;
    } else if (server_->bind_to_port(host, port)) {
        port_ = port;
    }
    if (port_ == 0) {
        if (error) *error = "admin: cannot listen on " + options_.listen + ": " + std::strerror(errno);
        server_.reset();
        return false;
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // httplib's stop() is a no-op until the loop runs: wait for it (bounded), so a
    // stop() right after start() cannot leave the thread listening forever.
    for (int i = 0; i < 2000 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    spdlog::info("admin: listening on {}:{}{}", host, port_, options_.token.empty() ? "" : " (token required for POST)");
    return true;
}

void AdminServer::stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
}

}  // namespace vigil
