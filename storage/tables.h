#pragma once
// Reference tables (SPEC 3.5): rows of JSON by (table, key), kept in LMDB so they
// survive restarts and serve replays (docs/tables.md).
//
// Layout: its own LMDB environment (data_dir/tables), so a table update never
// waits behind the event log's writer, with two named databases:
//   `rows`     table ‖ 0x00 ‖ key                  -> the row's JSON (the latest version)
//   `history`  table ‖ 0x00 ‖ key ‖ 0x00 ‖ be64 t  -> the row's JSON from time t on ("" = deleted at t)
// `history` is only written for tables that keep it (history_ms != 0); versions
// older than history_ms are pruned on the next write of their key, except the
// newest one at or before the cutoff, so "as of" any time inside the window works.
//
// Guarantees:
//  - apply() and replace() write everything they are given in ONE transaction:
//    after a crash either all of it is there or none;
//  - generation() grows after every commit, and the last kChangeLog changed
//    (table, key) pairs are kept with the generation that changed them, so a
//    reader's cache can refresh just those rows (changes_since) instead of all;
//  - a TableReader sees one consistent snapshot from begin() to end().
// Failure modes: no exceptions; a write that fails (map full, a key LMDB cannot
// hold, a key with a 0x00 byte) returns Status with the LMDB text and changes
// nothing. Thread rules: writes may come from any thread (serialized inside);
// a TableReader belongs to one thread.
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/log.h"  // Status

namespace vigil {

constexpr int64_t kHistoryForever = INT64_MAX;

struct TableWrite {
    std::string table;
    std::string key;
    std::string json;        // the row; ignored when erase
    bool erase = false;
    int64_t history_ms = 0;  // 0: latest only; kHistoryForever: keep every version
};

struct TableRow {
    std::string key;
    std::string json;
};

class TableReader;

class TableStore {
public:
    // Opens (creating the folder and file unless read_only) the store in `dir`.
    static std::unique_ptr<TableStore> open(const std::string& dir, uint64_t map_size, bool read_only,
                                            std::string* error);
    ~TableStore();
    TableStore(const TableStore&) = delete;
    TableStore& operator=(const TableStore&) = delete;

    // Upserts and deletes, in order, at wall time `time` (epoch ms), in one transaction.
    Status apply(const std::vector<TableWrite>& writes, int64_t time);
    // Makes `table` hold exactly `rows` (a file reload): writes the rows whose JSON
    // changed, deletes the keys no longer there. `changed` counts both.
    Status replace(const std::string& table, const std::vector<TableRow>& rows, int64_t time, int64_t history_ms,
                   size_t* changed = nullptr);

    uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
    // The (table, key) pairs changed by the commits after generation `since`, into
    // `out` (a key may repeat), and the generation they bring a reader to. False
    // when the change log no longer reaches back that far (the reader must then
    // drop everything it cached).
    static constexpr size_t kChangeLog = 16384;
    bool changes_since(uint64_t since, std::vector<std::pair<std::string, std::string>>& out,
                       uint64_t& generation) const;
    // Rows currently in `table`.
    size_t size(const std::string& table) const;

    std::unique_ptr<TableReader> reader() const;

    struct Impl;

private:
    explicit TableStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    struct Change {
        uint64_t generation;
        std::string table, key;
    };
    // After a commit: records its changes (their generation set here) and publishes the next generation.
    void committed(std::vector<Change> changes);

    std::mutex write_mu_;
    std::atomic<uint64_t> generation_{1};
    mutable std::mutex changes_mu_;
    std::deque<Change> changes_;  // the newest kChangeLog, oldest first
    uint64_t forgotten_ = 0;      // the newest generation some of whose changes were dropped
};

// A read snapshot of a TableStore. get() and versions() begin the snapshot when
// none is open; the views get() returns stay valid until end().
class TableReader {
public:
    ~TableReader();
    TableReader(const TableReader&) = delete;
    TableReader& operator=(const TableReader&) = delete;

    // Ends the snapshot (a long-open read transaction keeps LMDB from reusing pages).
    void end();
    // The latest row; false when there is none.
    bool get(std::string_view table, std::string_view key, std::string_view& json);
    // Every history version of the key, oldest first ("" json = deleted then).
    std::vector<std::pair<int64_t, std::string>> versions(std::string_view table, std::string_view key);

private:
    friend class TableStore;
    struct Impl;
    explicit TableReader(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
