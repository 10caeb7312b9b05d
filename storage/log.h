#pragma once
// EventLog: the durable, partitioned event log in one LMDB environment, plus the
// stores committed with it (consumer offsets, keyed state, alert history, outbox).
// Layout and formats: docs/storage.md and storage/record.h.
//
// Guarantees
//  - Offsets start at 1 in every partition and grow by 1 per record (0 means
//    "nothing"); retention removes records only from the head of a partition.
//  - A future returned by append(), append_batch(), commit_batch() or
//    outbox_delete() becomes ready only after the LMDB transaction holding the
//    request has committed (success) or definitely failed (error text; nothing of
//    the request is stored). With StorageSync::Always the commit was also
//    fsynced; with StorageSync::Periodic it is fsynced within sync_interval_ms.
//    A caller that saw its future complete also sees its records in
//    last_offset() and wait_for().
//  - Group commit: one writer thread; whatever is queued when it begins a
//    transaction goes into that transaction (up to max_group_bytes).
//  - Requests from one thread are applied in the order they were made, so the
//    records one thread appends to a partition get increasing offsets.
//  - commit_batch() writes consumer offsets, state puts/deletes, alerts and their
//    outbox entries atomically: all of them or none.
//  - The partition count is fixed when the data folder is created; opening it with
//    another count fails and names both counts.
//  - MDB_MAP_FULL grows the map (double up to 1 GiB, then +1 GiB, never beyond
//    max_map_size when set) and retries the whole group: nothing is lost. The map
//    also grows ahead of need once it is 80% used.
//  - Disk full (ENOSPC/EDQUOT/EFBIG, or EIO for a short write, at commit) fails
//    every request of that group with a clear error naming the errno symbol; the
//    transaction is aborted, so the log stays as it was, and later requests are
//    tried again (ingest resumes by itself once space is free).
//  - A map grown by another process (MDB_MAP_RESIZED) is adopted, not an error.
//  - Retention (max age by ingest time, max bytes) deletes from partition heads
//    in transactions of at most retention_batch records, between groups. It
//    trims the alert store too, oldest alert time first: max age by alert time,
//    and the alert store counts towards max bytes. An alert whose outbox entry
//    is still waiting is never deleted (nor is any alert while the outbox holds
//    an entry written before outbox entries named their alert).
//
// Threads: every public method may be called from any thread. Readers use short
// read transactions (at most read_chunk records each), so they never pin old
// pages for long; a scan therefore sees a moving log, never a torn record. A
// RecordFn must not wait for a write of the same log (the writer may need every
// read transaction to end before it can grow the map): use read() instead.
// Other processes may open the same folder (vigil ingest, vigil log): each write
// transaction takes partition ends from the database, never from memory.
//
// Failure: open() returns nullptr and an error text; afterwards methods report
// errors through their result (no exceptions).
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/record.h"

namespace vigil {

enum class StorageSync { Periodic, Always };

struct LogOptions {
    std::string dir;                       // created if missing (parent must exist)
    uint32_t partitions = 8;               // 1..1024
    uint64_t map_size = 1ULL << 30;        // initial map size
    uint64_t max_map_size = 0;             // 0 = grow without limit (as the disk allows)
    StorageSync sync = StorageSync::Periodic;
    int64_t sync_interval_ms = 100;
    int64_t retention_max_age_ms = 0;      // 0 = off; by ingest time
    uint64_t retention_max_bytes = 0;      // 0 = off; log + time index pages of all partitions
    uint32_t retention_batch = 1000;       // records deleted per transaction
    int64_t retention_interval_ms = 1000;  // how often the writer checks retention
    uint64_t max_group_bytes = 64ULL << 20;
    uint32_t read_chunk = 4096;            // records per read transaction in scans
    bool read_only = false;                // tools (vigil log): no writer, no sync thread
    std::function<int64_t()> now_ms;       // wall clock for retention; default system clock
};

// Ask the log to pick the partition from the key (partition_for_key).
inline constexpr uint32_t kPartitionByKey = 0xFFFFFFFFu;

struct AppendRequest {
    uint32_t partition = kPartitionByKey;
    int64_t event_time = 0;
    int64_t ingest_time = 0;
    std::string stream, key, topic, payload;
};

struct AppendResult {
    bool ok = false;
    uint32_t partition = 0;
    uint64_t offset = 0;
    std::string error;
};

struct BatchResult {
    bool ok = false;
    std::vector<std::pair<uint32_t, uint64_t>> positions;  // per request: {partition, offset}
    std::string error;
};

struct Status {
    bool ok = true;
    std::string error;
    static Status fail(std::string e) { return Status{false, std::move(e)}; }
};

struct OffsetCommit {
    std::string consumer;
    uint32_t partition = 0;
    uint64_t offset = 0;
};

struct StateChange {
    std::string rule;
    uint32_t partition = 0;
    std::string key;
    std::string value;
    bool erase = false;
};

struct AlertWrite {
    int64_t time = 0;     // alert event time: key of the alert history
    std::string id;
    std::string json;
    std::string topic;    // outbox topic
    int qos = 1;
    bool outbox = true;   // also queue for publishing
};

struct CommitBatch {
    std::vector<OffsetCommit> offsets;
    std::vector<StateChange> state;
    std::vector<AlertWrite> alerts;
};

struct CommitResult {
    bool ok = false;
    std::vector<uint64_t> outbox_seqs;  // per alert with outbox=true, in order
    std::string error;
};

struct OutboxEntry {
    uint64_t seq = 0;
    std::string topic;
    int qos = 1;
    std::string json;
};

struct PartitionStats {
    uint32_t partition = 0;
    uint64_t records = 0;
    uint64_t bytes = 0;          // pages of log/<p> and time/<p>
    uint64_t first_offset = 0;   // 0 when empty
    uint64_t last_offset = 0;
    int64_t first_event_time = 0;  // of the first and last record
    int64_t last_event_time = 0;
    int64_t min_event_time = 0;    // over the whole partition (time index)
    int64_t max_event_time = 0;
};

struct MapInfo {
    uint64_t map_size = 0;
    uint64_t used_bytes = 0;
    uint32_t readers_used = 0;
    uint32_t readers_max = 0;
    uint32_t map_grows = 0;        // since open
    uint64_t commits = 0;          // write transactions committed by the writer since open
    uint64_t retention_deleted = 0;  // records deleted by retention since open
    uint64_t retention_alerts_deleted = 0;  // alerts deleted by retention since open
    uint32_t stale_readers_cleared = 0;  // by mdb_reader_check since open
};

// Called per record; return false to stop.
using RecordFn = std::function<bool(const RecordView&)>;

class EventLog {
public:
    static std::unique_ptr<EventLog> open(const LogOptions& opts, std::string* error);
    ~EventLog();  // drains the queue, syncs, closes
    EventLog(const EventLog&) = delete;
    EventLog& operator=(const EventLog&) = delete;

    uint32_t partitions() const;
    // stable_hash64(key) % partitions (rules/hash.h: FNV-1a 64 + splitmix64 finish).
    uint32_t partition_for_key(std::string_view key) const;
    const std::string& dir() const;

    // --- writes (through the writer thread) ---
    std::future<AppendResult> append(AppendRequest req);
    std::future<BatchResult> append_batch(std::vector<AppendRequest> reqs);
    std::future<CommitResult> commit_batch(CommitBatch batch);
    std::future<Status> outbox_delete(std::vector<uint64_t> seqs);
    // Runs retention until nothing more is due (tests, tools); normally the writer
    // runs it every retention_interval_ms in bounded batches.
    std::future<Status> run_retention();
    // fsync now (mdb_env_sync with force).
    Status sync();
    // Frees reader slots of dead processes (a crashed `vigil replay` or mdb_stat).
    // Runs at open and every minute from the sync thread; returns how many it freed.
    uint32_t clear_stale_readers();

    // --- reads ---
    // Records of `partition` with offset >= from, at most `limit` (0 = all).
    Status scan(uint32_t partition, uint64_t from, uint64_t limit, const RecordFn& fn) const;
    Status read(uint32_t partition, uint64_t from, uint64_t limit, std::vector<Record>& out) const;
    // Records with from_time <= event_time < to_time, in (event time, offset) order.
    Status scan_time(uint32_t partition, int64_t from_time, int64_t to_time, uint64_t limit,
                     const RecordFn& fn) const;
    uint64_t last_offset(uint32_t partition) const;   // 0 when empty; from memory
    uint64_t first_offset(uint32_t partition) const;  // 0 when empty
    Status stats(uint32_t partition, PartitionStats& out) const;
    MapInfo map_info() const;
    // Blocks until `partition` has a record with offset > after or `timeout`
    // passes; returns whether it has one. Woken by every commit of this process
    // (records another process appends are seen at the next commit or timeout).
    // On a read-only log it does not block.
    bool wait_for(uint32_t partition, uint64_t after, std::chrono::milliseconds timeout) const;
    // The same over several partitions: until any partition `p` of `after` has a
    // record with offset > its `after` value (an engine worker's partitions).
    bool wait_for_any(const std::vector<std::pair<uint32_t, uint64_t>>& after,
                      std::chrono::milliseconds timeout) const;

    // The same for the outbox: until an alert with sequence > after_seq is queued
    // for publishing (the publisher's wake-up), or `timeout` passes.
    bool wait_for_outbox(uint64_t after_seq, std::chrono::milliseconds timeout) const;

    std::optional<uint64_t> consumer_offset(std::string_view consumer, uint32_t partition) const;
    Status consumer_offsets(std::vector<OffsetCommit>& out) const;
    std::optional<std::string> state_get(std::string_view rule, uint32_t partition, std::string_view key) const;
    // Every state entry of (rule, partition): fn(key, value); return false to stop.
    Status state_scan(std::string_view rule, uint32_t partition,
                      const std::function<bool(std::string_view, std::string_view)>& fn) const;
    Status outbox_scan(uint64_t after_seq, uint64_t limit, std::vector<OutboxEntry>& out) const;
    // The highest outbox sequence committed so far (0: none), as wait_for_outbox sees it.
    uint64_t outbox_last_seq() const;
    // Entries in the outbox (LMDB's entry count: no scan); 0 when it cannot be read.
    uint64_t outbox_size() const;
    // Alerts in the alert store (the same way).
    uint64_t alerts_size() const;
    // Alerts with from_time <= time < to_time: fn(time, id, json).
    Status alerts_scan(int64_t from_time, int64_t to_time,
                       const std::function<bool(int64_t, std::string_view, std::string_view)>& fn) const;

    struct Impl;

private:
    explicit EventLog(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
