// Admin routes: GET /metrics, /healthz, /readyz.
#include <httplib.h>

#include "daemon/admin_server.h"
#include "rules/json.h"

namespace vigil {

void add_health_routes(httplib::Server& server, const AdminCallbacks& cb) {
    server.Get("/metrics", [&cb](const httplib::Request&, httplib::Response& res) {
        if (!cb.metrics) {
            res.status = 501;
            return;
        }
        res.set_content(cb.metrics(), "text/plain; version=0.0.4; charset=utf-8");
    });
    // Alive: the process answers.
    server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
    // Ready: storage open and rules loaded; 503 with the reason otherwise.
    server.Get("/readyz", [&cb](const httplib::Request&, httplib::Response& res) {
        std::string why;
        bool ready = cb.ready && cb.ready(why);
        std::string body = ready ? "{\"ready\":true}\n" : "{\"ready\":false,\"reason\":";
        if (!ready) {
            json_escape(body, cb.ready ? why : "no readiness check");
            body += "}\n";
        }
        res.status = ready ? 200 : 503;
        res.set_content(body, "application/json");
    });
}

}  // namespace vigil
