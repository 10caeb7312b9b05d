#pragma once
// Replay from the stored log (`vigil replay --from/--to`): the live engine code
// (one PartitionEngine per partition) over the records whose event time is in
// [from, to), in virtual time, with its own consumer.
//
// Guarantees
//  - Read only: the log is opened by the caller with LogOptions::read_only; replay
//    never writes offsets, state, alerts or outbox, so it can run beside the daemon.
//  - Records are read per partition with EventLog::scan_time, whose reads use short
//    read transactions of read_chunk records, so a long replay never pins old
//    pages and the LMDB file does not grow under it.
//  - Events keep their stored partition and offset, so alert ids equal the live
//    ones for the same rules and the same order of events.
//  - Events are replayed in (event time, offset) order within a partition; the
//    clock is virtual (detected_at = the largest event time seen by that engine).
//  - With `workers` > 1 partitions are spread over threads (partition p goes to
//    worker p % workers); results do not depend on the worker count.
// Failure modes: run_log_replay() returns false and an error text when a read
// fails; a record whose payload is not JSON is counted in bad_records and skipped.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "patterns/alert.h"
#include "patterns/engine.h"
#include "rules/rule.h"

namespace vigil {

class EventLog;
class TableStore;

struct LogReplayOptions {
    int64_t from = INT64_MIN;          // event time, inclusive
    int64_t to = INT64_MAX;            // event time, exclusive
    std::vector<uint32_t> partitions;  // empty = all
    std::string stream;                // "" = every stream
    uint32_t workers = 1;              // engine threads (partitions spread over them)
    // true: each partition's records are read and parsed by a thread of its own beside
    // the engine thread that runs the rules (a pipeline of two); false: both in one
    // thread. Unset: reader threads when the machine has a core for each (2 x workers
    // <= cores): with fewer the two threads only take turns, and handing events
    // between cores costs more than it saves.
    std::optional<bool> read_thread;
    // With reader threads: whether the reader also evaluates the pattern stages'
    // conditions that read only the payload (rules/precomputed.h) and hands the
    // results over. Unset: batch by batch, only while the engine thread is behind
    // (at least half of the batches the reader may queue are waiting for it): then
    // the reader has time to spare; while the engine waits for the reader, the
    // runtimes evaluate them (as when read in-line). The alerts and counters are the
    // same every way (test).
    std::optional<bool> read_conditions;
    bool flush = true;                 // at the end: every watermark to +infinity
    bool keep_json = true;             // keep every alert as JSON (SPEC section 6) for --out
    const TableStore* tables = nullptr;  // reference tables (daemon/table_view.h); null: none
    std::set<std::string, std::less<>> as_of_tables;  // tables looked up as of event time
};

// What the report and the diff need of one alert, without its events.
struct AlertBrief {
    std::string id, rule, kind, key;
    int64_t time = 0;
    // Of the first matched event; without events (windows) the replaying engine's
    // partition, or UINT32_MAX from JSON.
    uint32_t partition = UINT32_MAX;
    std::string match;  // rule, kind, key, matched [partition, offset] pairs, window (match_signature)
};

struct LogReplayResult {
    uint64_t events = 0;       // records replayed
    uint64_t bad_records = 0;  // payload not JSON
    uint64_t late_events = 0;
    double seconds = 0;
    bool read_threads = false;  // whether partitions were read in threads of their own
    // CPU seconds of the threads that ran the rules (reading too when read in-line)
    // and of the reader threads, summed over partitions.
    double engine_cpu_seconds = 0, reader_cpu_seconds = 0;
    // Reader threads: the batches they handed over, and those with the conditions'
    // results (read_conditions).
    uint64_t batches = 0, condition_batches = 0;
    std::vector<AlertBrief> briefs;  // every alert, partition by partition
    std::vector<std::string> alert_json;  // the same alerts as JSON when keep_json
    std::vector<RuleStats> rule_stats;  // summed over partitions
};

// Identity of a match independent of the rule version: rule, kind, key, the
// matched (partition, offset) pairs per stage and the window bounds.
std::string match_signature(const Alert& a);
// The same from an alert's JSON (SPEC section 6, as stored in the alert store);
// false when the JSON is not an alert.
bool brief_from_json(std::string_view json, AlertBrief& out);

bool run_log_replay(const EventLog& log, RuleSetPtr rules, const std::vector<StreamSpec>& streams,
                    const LogReplayOptions& options, LogReplayResult& out, std::string* error);

}  // namespace vigil
