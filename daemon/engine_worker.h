#pragma once
// An engine worker: one thread that runs the rules over a group of partitions of
// the log (ARCHITECTURE "Threads and the write path").
//
// Per partition it reads new records with short read transactions, parses each
// payload once, pushes it into that partition's PartitionEngine (event time,
// watermarks, rules), and every `checkpoint_events` events or
// `checkpoint_interval_ms` commits {consumer offset, new alerts into the alert
// store and the outbox} in ONE transaction, so an alert is never lost and an
// offset never runs ahead of the alerts it produced.
// With `checkpoint_state` (the default) the same transaction also holds the keyed
// state of every rule that changed since the last checkpoint and the engine's own
// state (watermarks, the reorder buffer as log offsets), so the committed offset
// is the last record read. At construction each partition restores that state
// (rules whose id and version are unchanged; stored state of other rules is
// deleted) and resumes after the committed offset: a crash re-processes only the
// records after the last checkpoint, from the state of that checkpoint, and
// re-raises their alerts with the same ids (docs/state.md). Pending alerts are
// committed at once even between checkpoints (alert store and outbox only, no
// offset), and a checkpoint is committed while the worker goes on (one in flight).
// Without checkpoint_state, records still buffered for reordering are not counted
// as consumed (a restart reads them again) and rule state starts empty.
// Thread rules: start/stop/swap_rules from the controlling thread. inspect() and
// set_rule_enabled() may be called from any thread (the admin API): inspect runs
// its task on the worker thread between two batches, so engines are only ever
// touched by their own thread.
#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "patterns/engine.h"
#include "patterns/runtime.h"
#include "rules/rule.h"

namespace vigil {

class EventLog;
class TableStore;
struct CommitBatch;
struct StateChange;
struct AlertWrite;

struct WorkerOptions {
    std::string consumer = "live";
    std::string default_alert_topic = "vigil/alerts/{rule}/{key}";
    int default_alert_qos = 1;
    int64_t checkpoint_interval_ms = 1000;  // a crash re-processes at most this tail
    uint64_t checkpoint_events = 100000;
    uint32_t read_batch = 1024;
    // Reference tables for table() and ctx.lookup (daemon/table_view.h); null: none.
    const TableStore* tables = nullptr;
    bool checkpoint_state = true;  // keyed rule state and engine state in each checkpoint
    // alerts.on_full=block (daemon/outbox_limit.h): asked before each read of the
    // log; false = the outbox is full, do not read on (after waiting up to the
    // given time for room). Unset: always read. A worker stopped while the outbox
    // is full stops without reading the rest; the next start resumes it. The
    // second argument: alerts of a commit still in flight (not yet in the outbox).
    std::function<bool(std::chrono::milliseconds, uint64_t)> admit;
};

struct WorkerStats {
    uint64_t events = 0;
    uint64_t alerts = 0;
    uint64_t late_events = 0;
    uint64_t bad_records = 0;
    uint64_t commit_errors = 0;
    uint64_t restored_keys = 0;     // keyed states restored at start
    uint64_t state_restore_errors = 0;  // malformed stored states (those keys start empty)
};

class EngineWorker {
public:
    EngineWorker(EventLog& log, std::vector<uint32_t> partitions, RuleSetPtr rules, std::vector<StreamSpec> streams,
                 const Clock& clock, WorkerOptions options);
    ~EngineWorker();

    void start();
    // Processes what is already in the log, commits, and stops the thread.
    void stop();
    // The new rule set is picked up between two events. Fresh rules with
    // warm_start first replay their partitions' recent log; rules removed or reset
    // lose their LMDB state (docs/reload.md).
    void swap_rules(RuleSetPtr rules);
    WorkerStats stats() const;
    // Per-rule counters summed over this worker's partitions.
    std::vector<RuleStats> rule_stats() const;

    // Runs fn(partition, engine) for each of this worker's partitions on the worker
    // thread, between two batches, and waits for it up to `timeout`. False when the
    // thread is not running or did not get to it in time (then it never runs).
    bool inspect(const std::function<void(uint32_t, const PartitionEngine&)>& fn, std::chrono::milliseconds timeout);
    // A disabled rule is left out of this worker's engines (its in-memory state is
    // dropped; enabling starts it fresh). Kept across swap_rules.
    void set_rule_enabled(const std::string& id, bool enabled);
    bool rule_enabled(const std::string& id) const;

private:
    struct Task;
    RuleSetPtr without_disabled(const RuleSetPtr& rules) const;  // mu_ held
    void run_tasks();
    struct Partition;
    class Collector;
    void run();
    bool poll_partition(Partition& p);
    void checkpoint(bool force);
    struct InFlight;
    void finish_inflight();
    void wait_for_records(std::chrono::milliseconds timeout);
    // engine_worker_state.cpp: checkpointed state
    // False when the stored engine state is unusable (the caller starts the
    // partition afresh from its committed offset).
    bool restore(uint32_t partition, PartitionEngine& engine);
    // Adds the partition's changed keyed state, and the engine record when anything
    // changed or `moved` (its offset advanced); true when it added something.
    bool add_state(uint32_t partition, PartitionEngine& engine, CommitBatch& batch, bool moved);

    EventLog& log_;
    std::vector<std::unique_ptr<Partition>> parts_;
    std::vector<StreamSpec> streams_;
    const Clock& clock_;
    WorkerOptions options_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;  // guards pending_rules_ and stats_ snapshots
    RuleSetPtr pending_rules_;
    WorkerStats stats_;
    std::vector<RuleStats> rule_stats_;
    RuleSetPtr all_rules_;                 // the last set given, disabled ones included
    std::set<std::string> disabled_;
    std::vector<std::shared_ptr<Task>> tasks_;
    std::atomic<bool> running_{false};
    uint64_t since_commit_ = 0;
    int64_t last_commit_ms_ = 0;
    std::unique_ptr<InFlight> inflight_;      // the checkpoint being committed
    std::vector<StateChange> unsaved_state_;  // from a failed commit, not yet stored
    std::vector<AlertWrite> unsaved_alerts_;
};

}  // namespace vigil
