#pragma once
// Feeding the reference tables of vigil.yaml (`tables:`, SPEC 3.5) into the
// TableStore: from MQTT topics and from JSONL / CSV files (docs/tables.md).
//
// Guarantees:
//  - MQTT: each message on a table's topic upserts the row under its key (a payload
//    field, or a topic segment like `topic[1]`); an empty payload deletes the key
//    (the key must then come from the topic). The subscription is made on every
//    connect, so retained messages give the initial state. The row is committed
//    before the callback returns, so a QoS 1 PUBACK follows the commit.
//  - Files: loaded by start(), then reloaded when their modification time or size
//    changes (polled every `poll_ms`); a reload makes the table hold exactly the
//    file's rows, in one transaction. A missing file leaves the table as it is.
//  - Bad input never stops the daemon: a message that is not a JSON object or has
//    no key, a file line that does not parse (reported as `file:line: why`), is
//    logged at a bounded rate, counted, and skipped.
// Thread rules: start/stop from one thread; stats() from any.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/config.h"
#include "daemon/rate_limit.h"
#include "plugins/mqtt_client.h"
#include "storage/tables.h"

namespace vigil {

struct TableFeedStats {
    uint64_t upserts = 0;
    uint64_t deletes = 0;
    uint64_t bad_messages = 0;
    uint64_t file_loads = 0;
    uint64_t bad_lines = 0;
};

// A message on a table's topic -> the write it asks for. False (with `why`) when
// it cannot be applied: not a JSON object, no key.
bool table_write_for_message(const TableSpec& spec, std::string_view topic, std::string_view payload,
                             TableWrite& out, std::string* why);

// A JSONL (one object per line) or CSV (a header line, then one row per line;
// numbers that parse as numbers, `true`/`false`, the rest strings, empty cells
// null) file's text -> rows by the table's key, in file order; a key seen twice
// keeps its last row. Every bad line adds "FILE:LINE: why" to `problems`.
void parse_table_file(const TableSpec& spec, const std::string& text, std::vector<TableRow>& rows,
                      std::vector<std::string>& problems);

// Where the tables of a config live: data_dir/tables.
std::string tables_dir(const Config& cfg);

// For `vigil replay`: the config's tables opened read-only (store null when the
// config has none or they were never written; `error` then says why when there was
// a reason), and the tables whose lookups see event time (those with `history`).
struct ReplayTables {
    std::unique_ptr<TableStore> store;
    std::set<std::string, std::less<>> as_of;
};
ReplayTables open_replay_tables(const Config& cfg, std::string* error);

class TableFeeder {
public:
    TableFeeder(TableStore& store, std::vector<TableSpec> tables, MqttOptions mqtt, int poll_ms = 500);
    ~TableFeeder();
    TableFeeder(const TableFeeder&) = delete;
    TableFeeder& operator=(const TableFeeder&) = delete;

    // Loads the files, starts the MQTT client (when a table has a topic) and the
    // file watcher. False only for configuration errors (TLS files, ...).
    bool start(std::string* error);
    void stop();
    TableFeedStats stats() const;

private:
    void on_message(std::string_view topic, std::string_view payload);
    void load_file(size_t index);
    void watch();

    TableStore& store_;
    std::vector<TableSpec> tables_;
    MqttOptions mqtt_;
    int poll_ms_;
    std::unique_ptr<MqttClient> client_;
    std::thread watcher_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::vector<std::pair<int64_t, uintmax_t>> seen_;  // per table: file mtime (ns) and size last loaded
    std::atomic<uint64_t> upserts_{0}, deletes_{0}, bad_messages_{0}, file_loads_{0}, bad_lines_{0};
    RateLimit warn_limit_;
};

}  // namespace vigil
