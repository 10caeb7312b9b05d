#pragma once
// The work behind `vigil ingest` and `vigil log stat|tail|dump`, apart from the
// command line so it can be tested without a config file.
//
// Guarantees: ingest_jsonl() extracts key and event time exactly as live ingest
// does (extract_event with the stream's settings), appends in batches through the
// log's writer and only reports a line as ingested once its batch has committed.
// A rejected line never stops the backfill: it is counted and described on `err`
// (the first 20). A failed commit stops it and is returned as `error`.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "daemon/config.h"
#include "rules/event.h"
#include "storage/log.h"

namespace vigil {

// EventLog options from vigil.yaml (data_dir, partitions, map size, durability, retention).
LogOptions log_options_for(const Config& cfg, bool read_only);

// An event as the rules see it, from a stored record: payload copied and parsed
// once. Null when the payload is not JSON (ingest validates it, so only a foreign
// writer gets there).
EventPtr event_from_record(const RecordView& r);
// The same into an existing (e.g. recycled, rules/event_pool.h) Event, reusing
// its buffers; false when the payload is not JSON.
bool event_from_record(const RecordView& r, Event& out);
// Everything of the event but its document: times, partition, offset, stream, key, topic.
void event_meta_from_record(const RecordView& r, Event& out);
// The same with the key's hash given (index_hash(r.key), computed where it was read).
void event_meta_from_record(const RecordView& r, Event& out, uint64_t key_hash);

struct IngestOptions {
    std::string topic;     // topic recorded with each event; default: the stream's topic if it has no wildcard
    size_t batch = 10000;  // events per append_batch
};

struct IngestSummary {
    uint64_t lines = 0, ingested = 0, rejected = 0, watermarks = 0, blank = 0;
    std::string error;  // a commit failed: the backfill stopped there
};

IngestSummary ingest_jsonl(EventLog& log, const StreamSpec& spec, std::istream& in, const IngestOptions& opts,
                           std::ostream& err, const std::function<int64_t()>& now_ms);

// `vigil log stat`: partitions, consumer offsets and lag, outbox, map usage.
Status print_log_stat(const EventLog& log, std::ostream& out);

// One record as one JSON object: partition, offset, time, ingest_time, stream,
// key, topic, payload (the stored JSON as is; a string if it is not an object).
std::string record_json(const RecordView& r);

struct DumpOptions {
    std::optional<uint32_t> partition;  // default: every partition, one after the other
    uint64_t from_offset = 1;
    std::optional<int64_t> from_time;   // read by event time (time index) instead of offset
    uint64_t limit = 0;                 // per partition; 0 = all
};
Status dump_records(const EventLog& log, const DumpOptions& opts, std::ostream& out);

// `--from` of `vigil log dump`: an RFC 3339 time, an epoch-ms time (>= 10^11), or an offset.
bool parse_from_arg(std::string_view text, DumpOptions& opts);

}  // namespace vigil
