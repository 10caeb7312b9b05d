// vigil.yaml -> Config (daemon/config.h), every key checked in one pass.
#include "daemon/config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/config_sections.h"
#include "rules/rule_parser.h"

namespace vigil {

namespace {

const std::vector<std::string> kTopKeys = {"data_dir", "partitions", "mqtt",  "streams", "durability",
                                           "retention", "rules",     "alerts", "admin",  "log",
                                           "storage",  "engine",     "tables"};
const std::vector<std::string> kMqttKeys = {"host",     "port",      "client_id",  "username",       "password_file",
                                            "tls",      "protocol",  "keepalive",  "connections",    "session_expiry",
                                            "receive_maximum"};
const std::vector<std::string> kLogLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};

void parse_tls(YamlFile& f, const YAML::Node& n, const std::string& base, MqttTlsConfig& tls) {
    YamlMap m(f, n, "tls", {"ca_file", "cert_file", "key_file"});
    if (!m.ok()) return;
    if (m.require("ca_file")) m.get_string("ca_file", tls.ca_file);
    m.get_string("cert_file", tls.cert_file);
    m.get_string("key_file", tls.key_file);
    if (m.has("cert_file") != m.has("key_file"))
        f.error(m.pos(), "tls: \"cert_file\" and \"key_file\" go together (client certificate and its key)");
    tls.ca_file = resolve_path(base, tls.ca_file);
    tls.cert_file = resolve_path(base, tls.cert_file);
    tls.key_file = resolve_path(base, tls.key_file);
}

void parse_protocol(YamlFile& f, YamlMap& m, MqttConfig& c) {
    const YAML::Node* v = m.find("protocol");
    if (!v) return;
    std::string s = v->IsScalar() ? v->Scalar() : std::string();
    if (s == "5" || s == "5.0") {
        c.protocol = 5;
    } else if (s == "3.1.1" || s == "4") {
        c.protocol = 4;
    } else {
        f.error(m.value_pos("protocol"), "\"protocol\" must be 5 or 3.1.1, got " + describe_node(*v));
    }
}

void parse_mqtt(YamlFile& f, const YAML::Node& n, const std::string& base, MqttConfig& c) {
    YamlMap m(f, n, "mqtt", kMqttKeys);
    if (!m.ok()) return;
    if (m.get_string("host", c.host) && c.host.empty()) f.error(m.value_pos("host"), "\"host\" must not be empty");
    int64_t v = 0;
    if (m.get_int("port", v, 1, 65535)) c.port = static_cast<int>(v);
    parse_protocol(f, m, c);
    if (m.get_string("client_id", c.client_id) && c.client_id.empty())
        f.error(m.value_pos("client_id"), "\"client_id\" must not be empty: the persistent session needs a fixed id");
    else if (c.protocol == 4 && c.client_id.size() > 23)
        f.warning(m.value_pos("client_id"), "MQTT 3.1.1 brokers may refuse a client id longer than 23 characters");
    m.get_string("username", c.username);
    if (m.get_string("password_file", c.password_file)) c.password_file = resolve_path(base, c.password_file);
    if (const YAML::Node* t = m.find("tls")) parse_tls(f, *t, base, c.tls);
    int64_t ms = 0;
    if (m.get_duration("keepalive", ms, 1000)) c.keepalive_s = static_cast<int>(ms / 1000);
    if (m.get_duration("session_expiry", ms, 0)) c.session_expiry_s = ms / 1000;
    if (m.get_int("connections", v, 1, 64)) c.connections = static_cast<int>(v);
    if (m.get_int("receive_maximum", v, 1, 65535)) c.receive_maximum = static_cast<int>(v);
}

void parse_admin(YamlFile& f, const YAML::Node& n, AdminConfig& c) {
    YamlMap m(f, n, "admin", {"listen", "token"});
    if (!m.ok()) return;
    m.get_string("token", c.token);
    if (!m.get_string("listen", c.listen) || c.listen.empty() || c.listen == "off") return;
    size_t colon = c.listen.rfind(':');
    int64_t port = -1;
    if (colon != std::string::npos && colon + 1 < c.listen.size()) {
        std::string p = c.listen.substr(colon + 1);
        if (p.find_first_not_of("0123456789") == std::string::npos && p.size() <= 5) port = std::stoll(p);
    }
    if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535)
        f.error(m.value_pos("listen"), "\"listen\" must be HOST:PORT (e.g. 127.0.0.1:9464) or off, got \"" +
                                           c.listen + "\"");
}

void parse_small_sections(YamlFile& f, YamlMap& top, Config& c) {
    if (const YAML::Node* n = top.find("durability")) {
        YamlMap m(f, *n, "durability", {"sync", "sync_interval"});
        size_t i = 0;
        if (m.get_enum("sync", {"periodic", "always"}, i)) c.durability.sync = i == 0 ? SyncMode::Periodic
                                                                                       : SyncMode::Always;
        m.get_duration("sync_interval", c.durability.sync_interval_ms, 1);
        if (c.durability.sync == SyncMode::Always && m.has("sync_interval"))
            f.warning(m.key_pos("sync_interval"), "\"sync_interval\" has no effect with sync: always");
    }
    if (const YAML::Node* n = top.find("retention")) {
        YamlMap m(f, *n, "retention", {"max_age", "max_bytes"});
        m.get_duration("max_age", c.retention.max_age_ms, 1);
        m.get_size("max_bytes", c.retention.max_bytes);
    }
    if (const YAML::Node* n = top.find("alerts")) {
        YamlMap m(f, *n, "alerts", {"topic", "qos", "max_outbox", "on_full"});
        std::string why;
        if (m.get_string("topic", c.alerts.topic) && c.alerts.topic.empty())
            f.error(m.value_pos("topic"), "\"topic\" must not be empty");
        else if (!valid_topic_template(c.alerts.topic, why))
            f.error(m.value_pos("topic"), "bad topic \"" + c.alerts.topic + "\": " + why);
        int64_t v = 0;
        if (m.get_int("qos", v, 0, 2)) c.alerts.qos = static_cast<int>(v);
        if (m.get_int("max_outbox", v, 1, 1'000'000'000)) c.alerts.max_outbox = static_cast<uint64_t>(v);
        size_t full = 0;
        if (m.get_enum("on_full", {"block", "drop_oldest"}, full))
            c.alerts.on_full = full == 0 ? OutboxFullPolicy::Block : OutboxFullPolicy::DropOldest;
    }
    if (const YAML::Node* n = top.find("admin")) parse_admin(f, *n, c.admin);
    if (const YAML::Node* n = top.find("log")) {
        YamlMap m(f, *n, "log", {"level", "format"});
        size_t i = 0;
        if (m.get_enum("level", kLogLevels, i)) c.log.level = kLogLevels[i];
        if (m.get_enum("format", {"text", "json"}, i)) c.log.format = i == 0 ? "text" : "json";
    }
    if (const YAML::Node* n = top.find("storage")) {
        YamlMap m(f, *n, "storage", {"map_size"});
        if (m.get_size("map_size", c.map_size) && c.map_size < (1ULL << 20)) {
            f.error(m.value_pos("map_size"), "\"map_size\" must be at least 1MiB");
            c.map_size = 1ULL << 20;
        }
    }
    if (const YAML::Node* n = top.find("engine")) {
        YamlMap m(f, *n, "engine", {"workers", "checkpoint_interval", "checkpoint_events"});
        int64_t v = 0;
        if (m.get_int("workers", v, 1, 256)) c.engine.workers = static_cast<int>(v);
        m.get_duration("checkpoint_interval", c.engine.checkpoint_interval_ms, 1);
        if (m.get_int("checkpoint_events", v, 1, 100'000'000)) c.engine.checkpoint_events = static_cast<uint64_t>(v);
    }
}

}  // namespace

Config parse_config(const std::string& yaml, const std::string& file, Diagnostics& diags) {
    size_t errors_before = diags.error_count();
    YamlFile f(file, yaml, diags);
    Config c;
    c.file = file;
    auto root = f.parse();
    if (!root) return c;
    std::string base = std::filesystem::path(file).parent_path().string();
    if (root->IsNull()) {
        diags.error({file, 1, 1}, "the config file is empty");
        return c;
    }
    YamlMap top(f, *root, "config", kTopKeys);
    if (!top.ok()) return c;
    if (top.get_string("data_dir", c.data_dir) && c.data_dir.empty())
        f.error(top.value_pos("data_dir"), "\"data_dir\" must not be empty");
    c.data_dir = resolve_path(base, c.data_dir);
    int64_t v = 0;
    if (top.get_int("partitions", v, 1, 1024)) c.partitions = static_cast<uint32_t>(v);
    if (const YAML::Node* n = top.find("mqtt")) parse_mqtt(f, *n, base, c.mqtt);
    if (const YAML::Node* n = top.find("streams")) parse_streams(f, *n, c.streams);
    if (c.streams.empty() && diags.error_count() == errors_before)
        f.warning(top.has("streams") ? top.key_pos("streams") : top.pos(),
                  "no streams: \"vigil run\" will not ingest any event");
    if (top.get_string("rules", c.rules)) c.rules = resolve_path(base, c.rules);
    if (const YAML::Node* n = top.find("tables")) parse_tables(f, *n, base, c.tables);
    parse_small_sections(f, top, c);
    return c;
}

std::optional<Config> load_config_text(const std::string& yaml, const std::string& file, Diagnostics& diags) {
    size_t errors_before = diags.error_count();
    Config c = parse_config(yaml, file, diags);
    if (diags.error_count() > errors_before) return std::nullopt;
    return c;
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

std::optional<Config> load_config(const std::string& path, Diagnostics& diags) {
    std::string text;
    if (!read_file(path, text)) {
        diags.error({path, 0, 0}, "cannot read the config file: no such file or not readable");
        return std::nullopt;
    }
    return load_config_text(text, path, diags);
}

}  // namespace vigil
