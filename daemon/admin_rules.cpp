// Admin routes: GET /api/v1/rules, POST /api/v1/reload,
// POST /api/v1/rules/{id}/enable|disable, GET /api/v1/rules/{id}/state?key=K.
#include <httplib.h>

#include <climits>

#include "daemon/admin_server.h"
#include "rules/json.h"

namespace vigil {

namespace {

void reply(httplib::Response& res, int status, const std::string& body) {
    res.status = status;
    res.set_content(body + "\n", "application/json");
}

std::string error_body(const std::string& message) {
    std::string b = "{\"error\":";
    json_escape(b, message);
    return b + "}";
}

// Constant-time compare, so the token cannot be guessed byte by byte from timings.
bool same(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char d = 0;
    for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
    return d == 0;
}

bool authorized(const httplib::Request& req, httplib::Response& res, const std::string& token) {
    if (token.empty()) return true;
    if (same(req.get_header_value("Authorization"), "Bearer " + token)) return true;
    res.set_header("WWW-Authenticate", "Bearer");
    reply(res, 401, error_body("this call needs Authorization: Bearer <admin.token>"));
    return false;
}

std::string rule_json(const AdminRuleInfo& r) {
    std::string b = "{\"id\":";
    json_escape(b, r.id);
    b += ",\"version\":";
    json_escape(b, r.version);
    b += ",\"file\":";
    json_escape(b, r.file);
    b += ",\"status\":";
    json_escape(b, r.status);
    b += ",\"last_error\":";
    json_escape(b, r.last_error);
    b += ",\"events\":" + std::to_string(r.events) + ",\"evaluations\":" + std::to_string(r.counters.evaluations) +
         ",\"matches\":" + std::to_string(r.counters.matches) + ",\"errors\":" + std::to_string(r.counters.errors) +
         ",\"late_events\":" + std::to_string(r.counters.late_events) +
         ",\"dropped_partial_matches\":" + std::to_string(r.counters.dropped_partial_matches) +
         ",\"dropped_keys\":" + std::to_string(r.counters.dropped_keys) + ",\"keys\":" + std::to_string(r.keys) +
         ",\"state_bytes\":" + std::to_string(r.state_bytes) + "}";
    return b;
}

}  // namespace

void add_rule_routes(httplib::Server& server, const AdminCallbacks& cb, const std::string& token) {
    server.Get("/api/v1/rules", [&cb](const httplib::Request&, httplib::Response& res) {
        if (!cb.rules) return reply(res, 501, error_body("not available"));
        std::string b = "{\"rules\":[";
        bool first = true;
        for (const auto& r : cb.rules()) {
            if (!first) b += ',';
            first = false;
            b += rule_json(r);
        }
        reply(res, 200, b + "]}");
    });

    server.Post("/api/v1/reload", [&cb, token](const httplib::Request& req, httplib::Response& res) {
        if (!authorized(req, res, token)) return;
        if (!cb.reload) return reply(res, 501, error_body("not available"));
        ReloadOutcome o = cb.reload();
        std::string b = std::string("{\"ok\":") + (o.ok ? "true" : "false") + ",\"rules\":" + std::to_string(o.rules) +
                        ",\"message\":";
        json_escape(b, o.message);
        b += ",\"errors\":[";
        for (size_t i = 0; i < o.errors.size(); ++i) {
            if (i) b += ',';
            json_escape(b, o.errors[i]);
        }
        reply(res, o.ok ? 200 : 422, b + "]}");
    });

    server.Post(R"(/api/v1/rules/([^/]+)/(enable|disable))",
                [&cb, token](const httplib::Request& req, httplib::Response& res) {
                    if (!authorized(req, res, token)) return;
                    if (!cb.set_rule_enabled) return reply(res, 501, error_body("not available"));
                    std::string id = req.matches[1];
                    bool enable = req.matches[2] == "enable";
                    std::string err;
                    if (!cb.set_rule_enabled(id, enable, err)) return reply(res, 404, error_body(err));
                    std::string b = "{\"id\":";
                    json_escape(b, id);
                    reply(res, 200, b + ",\"status\":\"" + (enable ? "active" : "disabled") + "\"}");
                });

    server.Get(R"(/api/v1/rules/([^/]+)/state)", [&cb](const httplib::Request& req, httplib::Response& res) {
        if (!cb.key_state) return reply(res, 501, error_body("not available"));
        if (!req.has_param("key")) return reply(res, 400, error_body("missing ?key="));
        std::string id = req.matches[1];
        std::string key = req.get_param_value("key");
        std::string err;
        auto views = cb.key_state(id, key, err);
        if (!views) return reply(res, err.find("unknown") == 0 ? 404 : 503, error_body(err));
        std::string b = "{\"rule\":";
        json_escape(b, id);
        b += ",\"key\":";
        json_escape(b, key);
        b += ",\"partitions\":[";
        for (size_t i = 0; i < views->size(); ++i) {
            const auto& v = (*views)[i];
            if (i) b += ',';
            b += "{\"partition\":" + std::to_string(v.partition) + ",\"buffered_events\":" +
                 std::to_string(v.buffered) + ",\"watermarks\":{";
            for (size_t w = 0; w < v.watermarks.size(); ++w) {
                if (w) b += ',';
                json_escape(b, v.watermarks[w].first);
                b += ':';
                b += v.watermarks[w].second == INT64_MIN ? "null" : std::to_string(v.watermarks[w].second);
            }
            b += "},\"state\":";
            json_escape(b, v.description);
            b += '}';
        }
        reply(res, 200, b + "]}");
    });
}

}  // namespace vigil
