#pragma once
// vigil.yaml (SPEC section 2) as plain structs.
//
// load_config() parses and validates the whole file in one pass and reports every
// problem as `file:line:col: error: message`: unknown keys with "did you mean",
// wrong types, bad durations and sizes, missing required keys. A Config is only
// returned when there were no errors. Relative paths (data_dir, rules, TLS files)
// are resolved against the config file's folder.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rules/diagnostics.h"
#include "rules/event.h"

namespace vigil {

struct MqttTlsConfig {
    std::string ca_file, cert_file, key_file;
    bool enabled() const { return !ca_file.empty(); }
};

struct MqttConfig {
    std::string host = "127.0.0.1";
    int port = 1883;
    std::string client_id = "vigil";
    std::string username;
    std::string password_file;  // password also from env VIGIL_MQTT_PASSWORD
    MqttTlsConfig tls;
    int protocol = 5;           // 5 or 4 (3.1.1)
    int keepalive_s = 30;
    int connections = 1;        // N clients in a $share group
    int64_t session_expiry_s = 7 * 86400;
    int receive_maximum = 100;
};

enum class SyncMode { Periodic, Always };

struct DurabilityConfig {
    SyncMode sync = SyncMode::Periodic;
    int64_t sync_interval_ms = 100;
};

struct RetentionConfig {
    int64_t max_age_ms = 7LL * 86'400'000;
    uint64_t max_bytes = 4ULL << 30;
};

// What happens when the outbox holds alerts.max_outbox alerts (docs/operations.md).
enum class OutboxFullPolicy { Block, DropOldest };

struct AlertsConfig {
    std::string topic = "vigil/alerts/{rule}/{key}";
    int qos = 1;
    uint64_t max_outbox = 100000;
    OutboxFullPolicy on_full = OutboxFullPolicy::Block;
};

struct AdminConfig {
    std::string listen = "127.0.0.1:9464";  // "" or "off" disables
    std::string token;                      // bearer token for state-changing calls
};

struct LogConfig {
    std::string level = "info";
    std::string format = "text";  // text | json
};

struct EngineConfig {
    int workers = 1;
    int64_t checkpoint_interval_ms = 1000;
    uint64_t checkpoint_events = 100000;
};

// tables: reference data for enrichment (SPEC 3.5), read by key from rules.
struct TableSpec {
    std::string name;
    std::string topic;            // MQTT filter: each message upserts, an empty payload deletes
    std::string file;             // or a JSONL file (resolved path), reloaded when it changes
    std::vector<FieldPath> key;   // the row key inside each record
    int64_t history_ms = 0;       // how long superseded rows stay readable (event-time lookups); 0: latest only;
                                  // INT64_MAX (`history: true`): every version
};

struct Config {
    std::string file;  // where it was read from
    std::string data_dir = "/var/lib/vigil";
    uint32_t partitions = 8;
    uint64_t map_size = 1ULL << 30;  // storage.map_size: initial LMDB map size
    MqttConfig mqtt;
    std::vector<StreamSpec> streams;
    DurabilityConfig durability;
    RetentionConfig retention;
    std::string rules;  // folder (or file) of rules
    AlertsConfig alerts;
    AdminConfig admin;
    LogConfig log;
    EngineConfig engine;
    std::vector<TableSpec> tables;

    // The names of `tables:`, for checking table("name", ...) in rules.
    std::vector<std::string> table_names() const {
        std::vector<std::string> out;
        for (const auto& t : tables) out.push_back(t.name);
        return out;
    }

    const StreamSpec* stream(std::string_view name) const {
        for (const auto& s : streams)
            if (s.name == name) return &s;
        return nullptr;
    }
};

std::optional<Config> load_config(const std::string& path, Diagnostics& diags);
std::optional<Config> load_config_text(const std::string& yaml, const std::string& file, Diagnostics& diags);

}  // namespace vigil
