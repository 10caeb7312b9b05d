#include "daemon/log_tools.h"

#include <charconv>
#include <deque>
#include <istream>
#include <ostream>

#include "rules/hash.h"
#include "rules/json.h"
#include "rules/same_bytes.h"
#include "rules/units.h"

namespace vigil {
namespace {

constexpr uint64_t kMaxDescribed = 20;

bool is_watermark_line(std::string_view line) {
    size_t i = line.find_first_not_of(" \t");
    if (i == std::string_view::npos || line[i] != '{') return false;
    i = line.find_first_not_of(" \t", i + 1);
    return i != std::string_view::npos && line.substr(i).starts_with("\"$watermark\"");
}

std::string default_topic(const StreamSpec& spec) {
    if (spec.topics.empty()) return {};
    const std::string& t = spec.topics.front();
    if (t.starts_with("$share/") || t.find_first_of("+#") != std::string::npos) return {};
    return t;
}

std::string time_text(int64_t ms, bool present) { return present ? format_rfc3339_ms(ms) : "-"; }

}  // namespace

EventPtr event_from_record(const RecordView& r) {
    auto ev = std::make_shared<Event>();
    if (!event_from_record(r, *ev)) return nullptr;
    return ev;
}

bool event_from_record(const RecordView& r, Event& ev) {
    event_meta_from_record(r, ev);
    return ev.doc.parse(r.payload);
}

namespace {
// A pooled event mostly held the same stream and topic before: compared, not copied.
void assign_changed(std::string& to, std::string_view from) {
    if (!same_text(to, from)) to.assign(from);
}
}  // namespace

void event_meta_from_record(const RecordView& r, Event& ev) {
    event_meta_from_record(r, ev, index_hash(r.key));
}

void event_meta_from_record(const RecordView& r, Event& ev, uint64_t key_hash) {
    ev.time = r.event_time;
    ev.ingest_time = r.ingest_time;
    ev.partition = r.partition;
    ev.offset = r.offset;
    assign_changed(ev.stream, r.stream);
    ev.key.assign(r.key);
    ev.key_hash = key_hash;
    ev.key_hashed = true;
    assign_changed(ev.topic, r.topic);
    ev.cond_plan = nullptr;  // (a pooled event may carry an earlier event's results)
}

LogOptions log_options_for(const Config& cfg, bool read_only) {
    LogOptions o;
    o.dir = cfg.data_dir;
    o.partitions = cfg.partitions;
    o.map_size = cfg.map_size;
    o.sync = cfg.durability.sync == SyncMode::Always ? StorageSync::Always : StorageSync::Periodic;
    o.sync_interval_ms = cfg.durability.sync_interval_ms;
    o.retention_max_age_ms = cfg.retention.max_age_ms;
    o.retention_max_bytes = cfg.retention.max_bytes;
    o.read_only = read_only;
    return o;
}

IngestSummary ingest_jsonl(EventLog& log, const StreamSpec& spec, std::istream& in, const IngestOptions& opts,
                           std::ostream& err, const std::function<int64_t()>& now_ms) {
    IngestSummary s;
    std::string topic = opts.topic.empty() ? default_topic(spec) : opts.topic;
    std::deque<std::pair<std::future<BatchResult>, size_t>> inflight;
    std::vector<AppendRequest> batch;
    auto settle = [&](size_t keep) {
        while (inflight.size() > keep) {
            BatchResult r = inflight.front().first.get();
            if (r.ok) s.ingested += inflight.front().second;
            if (!r.ok && s.error.empty()) s.error = r.error;
            inflight.pop_front();
        }
    };
    auto flush = [&] {
        if (batch.empty()) return;
        size_t n = batch.size();
        inflight.emplace_back(log.append_batch(std::move(batch)), n);
        batch.clear();
        settle(2);  // two batches in flight keep the writer busy while we parse
    };
    std::string line;
    Event ev;
    while (s.error.empty() && std::getline(in, line)) {
        ++s.lines;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) {
            ++s.blank;
            continue;
        }
        if (is_watermark_line(line)) {
            ++s.watermarks;
            continue;
        }
        std::string detail;
        RejectReason why = extract_event(spec, topic, line, now_ms(), ev, &detail);
        if (why != RejectReason::None) {
            if (++s.rejected <= kMaxDescribed)
                err << "line " << s.lines << ": rejected (" << reject_reason_name(why) << "): " << detail << "\n";
            continue;
        }
        AppendRequest r;
        r.event_time = ev.time;
        r.ingest_time = ev.ingest_time;
        r.stream = spec.name;
        r.key = std::move(ev.key);
        r.topic = topic;
        r.payload = std::move(line);
        batch.push_back(std::move(r));
        if (batch.size() >= opts.batch) flush();
    }
    flush();
    settle(0);
    if (s.rejected > kMaxDescribed) err << "... " << s.rejected - kMaxDescribed << " more rejected line(s)\n";
    return s;
}

Status print_log_stat(const EventLog& log, std::ostream& out) {
    MapInfo m = log.map_info();
    out << "data_dir " << log.dir() << "\npartitions " << log.partitions() << "\nmap " << m.used_bytes
        << " of " << m.map_size << " bytes used (" << (m.map_size ? 100 * m.used_bytes / m.map_size : 0)
        << "%), readers " << m.readers_used << "/" << m.readers_max << "\n\n";
    out << "partition records bytes first_offset last_offset first_time last_time\n";
    std::vector<uint64_t> last(log.partitions());
    for (uint32_t p = 0; p < log.partitions(); ++p) {
        PartitionStats st;
        if (Status s = log.stats(p, st); !s.ok) return s;
        last[p] = st.last_offset;
        bool any = st.records > 0;
        out << p << " " << st.records << " " << st.bytes << " " << st.first_offset << " " << st.last_offset << " "
            << time_text(st.first_event_time, any) << " " << time_text(st.last_event_time, any) << "\n";
    }
    std::vector<OffsetCommit> offs;
    if (Status s = log.consumer_offsets(offs); !s.ok) return s;
    out << "\nconsumer partition offset lag\n";
    if (offs.empty()) out << "(none)\n";
    for (const auto& o : offs) {
        uint64_t end = o.partition < last.size() ? last[o.partition] : 0;
        out << o.consumer << " " << o.partition << " " << o.offset << " " << (end > o.offset ? end - o.offset : 0)
            << "\n";
    }
    std::vector<OutboxEntry> pending;
    if (Status s = log.outbox_scan(0, 0, pending); !s.ok) return s;
    out << "\noutbox " << pending.size() << " alert(s) waiting for PUBACK\n";
    return {};
}

std::string record_json(const RecordView& r) {
    std::string s = "{\"partition\":" + std::to_string(r.partition) + ",\"offset\":" + std::to_string(r.offset) +
                    ",\"time\":" + std::to_string(r.event_time) + ",\"ingest_time\":" +
                    std::to_string(r.ingest_time) + ",\"stream\":";
    json_escape(s, r.stream);
    s += ",\"key\":";
    json_escape(s, r.key);
    s += ",\"topic\":";
    json_escape(s, r.topic);
    s += ",\"payload\":";
    // Ingest stores only payloads that parsed as JSON objects; anything else is quoted.
    JsonDoc doc;
    if (doc.parse(r.payload) && doc.root().is_object())
        s.append(r.payload);
    else
        json_escape(s, r.payload);
    s += "}";
    return s;
}

Status dump_records(const EventLog& log, const DumpOptions& opts, std::ostream& out) {
    auto print = [&](const RecordView& r) {
        out << record_json(r) << "\n";
        return bool(out);
    };
    uint32_t first = opts.partition.value_or(0), end = opts.partition ? first + 1 : log.partitions();
    for (uint32_t p = first; p < end; ++p) {
        Status s = opts.from_time ? log.scan_time(p, *opts.from_time, INT64_MAX, opts.limit, print)
                                  : log.scan(p, opts.from_offset, opts.limit, print);
        if (!s.ok) return s;
    }
    return {};
}

bool parse_from_arg(std::string_view text, DumpOptions& opts) {
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && ptr == text.data() + text.size() && !text.empty()) {
        if (v >= 100'000'000'000ULL)
            opts.from_time = static_cast<int64_t>(v);
        else
            opts.from_offset = v;
        return true;
    }
    if (auto t = parse_rfc3339_ms(text)) {
        opts.from_time = *t;
        return true;
    }
    return false;
}

}  // namespace vigil
