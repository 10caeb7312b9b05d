#include "daemon/log_tools.h"
#include "daemon/replay_log.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "daemon/table_view.h"
#include "rules/event_pool.h"
#include "rules/hash.h"
#include "rules/json.h"
#include "rules/precomputed.h"
#include "storage/log.h"

namespace vigil {

namespace {

// The pieces of a match signature, shared by match_signature() and
// brief_from_json() so that live and stored alerts compare equal.
void sep(std::string& s) { s.push_back('\x1f'); }

void signature_head(std::string& s, std::string_view rule, std::string_view kind, std::string_view key) {
    s += rule;
    sep(s);
    s += kind;
    sep(s);
    s += key;
    sep(s);
}

void signature_event(std::string& s, uint32_t partition, uint64_t offset) {
    s += std::to_string(partition);
    s += '/';
    s += std::to_string(offset);
    s += ',';
}

void signature_window(std::string& s, int64_t start, int64_t end) {
    s += std::to_string(start);
    s += '-';
    s += std::to_string(end);
}

// Collects the alerts of one partition's engine.
class BriefSink : public AlertSink {
public:
    BriefSink(uint32_t partition, bool keep) : partition_(partition), keep_(keep) {}
    void emit(Alert&& a) override {
        AlertBrief b;
        b.id = a.id;
        b.rule = a.rule;
        b.kind = a.kind;
        b.key = a.key;
        b.time = a.time;
        b.match = match_signature(a);
        for (const auto& stage : a.events)
            if (!stage.second.empty() && b.partition == UINT32_MAX) b.partition = stage.second.front()->partition;
        if (b.partition == UINT32_MAX) b.partition = partition_;  // windows: no events, the engine's partition
        briefs.push_back(std::move(b));
        if (keep_) json.push_back(a.to_json());
    }
    std::vector<AlertBrief> briefs;
    std::vector<std::string> json;

private:
    uint32_t partition_;
    bool keep_;
};

struct PartitionRun {
    uint32_t id = 0;
    uint64_t events = 0, bad = 0, late = 0;
    double engine_cpu = 0, reader_cpu = 0;
    uint64_t batches = 0, condition_batches = 0;
    std::vector<RuleStats> stats;
    std::unique_ptr<BriefSink> sink;
    std::string error;
};

// CPU seconds of the calling thread.
double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// A partition's records, read and parsed by its reader thread, in flat form: the
// engine thread copies each into an event of its own pool, so the events (their
// reference counts, their buffers) stay with the thread that runs the rules and
// only these contiguous arrays cross between the cores.
struct FlatBatch {
    struct Record {
        RecordView meta;    // without its views (`bytes` may move): those are at bytes_at
        uint32_t bytes_at;  // in `bytes`: stream, key, topic, then the document's buffer
        uint32_t stream_len, key_len, topic_len, buffer_len, text_len;
        uint32_t nodes_at, node_count;  // in `nodes`
        uint64_t cond_known, cond_true;  // the plan's results (rules/precomputed.h)
        uint64_t key_hash;               // index_hash(key), computed by the reader
        uint8_t num_known;               // the plan's numbers (Event::nums)
        double nums[Event::kNumbers];
    };
    std::vector<Record> records;
    std::string bytes;
    std::vector<JsonDoc::Node> nodes;
    uint64_t read = 0, bad = 0;  // records read (of the stream asked for), payloads not JSON

    void clear() {
        records.clear();
        bytes.clear();
        nodes.clear();
        read = bad = 0;
    }
    void add(const RecordView& r, const Event& parsed) {
        const JsonDoc& doc = parsed.doc;
        Record& x = records.emplace_back();
        x.meta = RecordView{r.partition, r.offset, r.event_time, r.ingest_time, {}, {}, {}, {}};
        x.bytes_at = static_cast<uint32_t>(bytes.size());
        x.stream_len = static_cast<uint32_t>(r.stream.size());
        x.key_len = static_cast<uint32_t>(r.key.size());
        x.topic_len = static_cast<uint32_t>(r.topic.size());
        x.buffer_len = static_cast<uint32_t>(doc.buffer().size());
        x.text_len = static_cast<uint32_t>(doc.text_size());
        bytes.append(r.stream).append(r.key).append(r.topic).append(doc.buffer());
        x.nodes_at = static_cast<uint32_t>(nodes.size());
        x.node_count = static_cast<uint32_t>(doc.node_count());
        nodes.insert(nodes.end(), doc.nodes_data(), doc.nodes_data() + doc.node_count());
        x.cond_known = parsed.cond_known;
        x.cond_true = parsed.cond_true;
        x.key_hash = index_hash(r.key);
        x.num_known = parsed.num_known;
        std::copy(std::begin(parsed.nums), std::end(parsed.nums), std::begin(x.nums));
    }
    void fill(size_t i, Event& ev, const ConditionPlan* plan) const {
        const Record& x = records[i];
        RecordView r = x.meta;
        const char* p = bytes.data() + x.bytes_at;
        r.stream = std::string_view(p, x.stream_len);
        r.key = std::string_view(p += x.stream_len, x.key_len);
        r.topic = std::string_view(p += x.key_len, x.topic_len);
        p += x.topic_len;
        event_meta_from_record(r, ev, x.key_hash);
        ev.doc.assign(nodes.data() + x.nodes_at, x.node_count, std::string_view(p, x.buffer_len), x.text_len);
        ev.cond_plan = plan;
        ev.cond_known = x.cond_known;
        ev.cond_true = x.cond_true;
        ev.num_known = x.num_known;
        std::copy(std::begin(x.nums), std::end(x.nums), std::begin(ev.nums));
    }
};

// Full batches from the reader to the engine thread, and emptied ones back (they
// keep their capacity). put() waits while `cap` batches are queued; take() waits
// for one and returns false once none is queued and finish() was called.
class Handoff {
public:
    explicit Handoff(size_t cap) : cap_(cap) {}
    void put(std::unique_ptr<FlatBatch> b) {
        std::unique_lock lock(m_);
        room_.wait(lock, [&] { return full_.size() < cap_; });
        full_.push_back(std::move(b));
        ready_.notify_one();
    }
    std::unique_ptr<FlatBatch> take() {
        std::unique_lock lock(m_);
        ready_.wait(lock, [&] { return !full_.empty() || finished_; });
        if (full_.empty()) return nullptr;
        auto b = std::move(full_.front());
        full_.pop_front();
        room_.notify_one();
        return b;
    }
    // Batches waiting for the engine thread.
    size_t queued() {
        std::lock_guard lock(m_);
        return full_.size();
    }
    void finish() {
        std::lock_guard lock(m_);
        finished_ = true;
        ready_.notify_one();
    }
    void give_back(std::unique_ptr<FlatBatch> b) {
        b->clear();
        std::lock_guard lock(m_);
        empty_.push_back(std::move(b));
    }
    std::unique_ptr<FlatBatch> empty_batch() {
        std::lock_guard lock(m_);
        if (empty_.empty()) return std::make_unique<FlatBatch>();
        auto b = std::move(empty_.back());
        empty_.pop_back();
        return b;
    }

private:
    std::mutex m_;
    std::condition_variable room_, ready_;
    std::deque<std::unique_ptr<FlatBatch>> full_;
    std::vector<std::unique_ptr<FlatBatch>> empty_;
    size_t cap_;
    bool finished_ = false;
};

// `plan`: what is read ahead of the rules: with `read_thread`, the reader thread
// evaluates its conditions and reads its numbers; else this thread reads the numbers.
void replay_partition(const EventLog& log, const RuleSetPtr& rules, const std::vector<StreamSpec>& streams,
                      const LogReplayOptions& o, const ConditionPlan& plan, bool read_thread, PartitionRun& run) {
    const double cpu0 = thread_cpu_seconds();
    ManualClock clock;
    run.sink = std::make_unique<BriefSink>(run.id, o.keep_json);
    PartitionEngine engine(rules, streams, clock, *run.sink);
    std::unique_ptr<TableView> tables = o.tables ? std::make_unique<TableView>(*o.tables, o.as_of_tables) : nullptr;
    TableScope table_scope(tables.get());
    EventPool pool;
    Lookahead ahead(engine);
    auto give = [&](EventPtr ev) {
        clock.now = std::max(clock.now, ev->time);
        engine.push(std::move(ev));
    };
    uint64_t since_batch = 0;  // events since the table view's last end_batch()
    auto run_event = [&](std::shared_ptr<Event> ev) {
        if (tables && ++since_batch == 1024) {
            since_batch = 0;
            ahead.drain(give);
            tables->end_batch();
        }
        ahead.push(std::move(ev), give);
    };
    auto wanted = [&](const RecordView& r) { return o.stream.empty() || r.stream == o.stream; };
    Status st;
    if (!read_thread) {
        // The conditions are left to the runtimes here (they evaluate only those a
        // partial match asks for); the numbers are read once for all window rules.
        const bool numbers = plan.numbers() > 0;
        st = log.scan_time(run.id, o.from, o.to, 0, [&](const RecordView& r) {
            if (!wanted(r)) return true;
            ++run.events;
            std::shared_ptr<Event> ev = pool.acquire();
            if (!event_from_record(r, *ev)) {
                ++run.bad;
                return true;
            }
            if (numbers) plan.read_numbers(*ev);
            run_event(std::move(ev));
            return true;
        });
    } else {
        // The reader thread reads, parses and reads the plan's numbers while this one
        // runs the rules; it evaluates the plan's conditions too for the batches it
        // reads while this thread is behind (read_conditions unset), so that neither
        // thread waits long for the other: which of the two is slower depends on the
        // rules and the machine.
        constexpr size_t kQueued = 4, kBatch = 256;
        Handoff handoff(kQueued);
        const bool has_conditions = plan.size() > 0;
        std::thread reader([&] {
            const double reader0 = thread_cpu_seconds();
            Event parsed;  // the payload and the plan's results (the conditions read nothing else)
            std::string scratch;
            auto batch = handoff.empty_batch();
            auto conditions_now = [&] {
                if (!has_conditions) return false;
                return o.read_conditions ? *o.read_conditions : handoff.queued() >= kQueued / 2;
            };
            bool conditions = conditions_now();
            auto hand_over = [&] {
                ++run.batches;
                run.condition_batches += conditions;
                handoff.put(std::move(batch));
            };
            st = log.scan_time(run.id, o.from, o.to, 0, [&](const RecordView& r) {
                if (!wanted(r)) return true;
                ++batch->read;
                if (!parsed.doc.parse(r.payload)) {
                    ++batch->bad;
                    return true;
                }
                if (conditions)
                    plan.evaluate(parsed, scratch);
                else
                    plan.read_numbers(parsed);
                batch->add(r, parsed);
                if (batch->records.size() == kBatch) {
                    hand_over();
                    batch = handoff.empty_batch();
                    conditions = conditions_now();
                }
                return true;
            });
            if (batch->read > 0) hand_over();
            handoff.finish();
            run.reader_cpu = thread_cpu_seconds() - reader0;
        });
        while (auto batch = handoff.take()) {
            run.events += batch->read;
            run.bad += batch->bad;
            for (size_t i = 0; i < batch->records.size(); ++i) {
                std::shared_ptr<Event> ev = pool.acquire();
                batch->fill(i, *ev, &plan);
                run_event(std::move(ev));
            }
            handoff.give_back(std::move(batch));
        }
        reader.join();
    }
    ahead.drain(give);
    if (!st.ok) run.error = "partition " + std::to_string(run.id) + ": " + st.error;
    if (o.flush) engine.flush();
    run.late = engine.late_events();
    run.stats = engine.stats();
    run.engine_cpu = thread_cpu_seconds() - cpu0;
}

}  // namespace

std::string match_signature(const Alert& a) {
    std::string s;
    s.reserve(64);
    signature_head(s, a.rule, a.kind, a.key);
    for (const auto& [stage, evs] : a.events) {
        s += stage;
        s += ':';
        for (const auto& e : evs) signature_event(s, e->partition, e->offset);
        s += ';';
    }
    sep(s);
    if (a.window) signature_window(s, a.window->first, a.window->second);
    return s;
}

bool brief_from_json(std::string_view json, AlertBrief& out) {
    JsonDoc doc;
    if (!doc.parse(json)) return false;
    JsonRef root = doc.root();
    if (!root.is_object() || !root["rule"].is_string() || !root["id"].is_string()) return false;
    out.id = std::string(root["id"].as_string());
    out.rule = std::string(root["rule"].as_string());
    out.kind = root["kind"].is_string() ? std::string(root["kind"].as_string()) : std::string();
    out.key = root["key"].is_string() ? std::string(root["key"].as_string()) : std::string();
    out.time = root["time"].is_number() ? static_cast<int64_t>(root["time"].as_number()) : 0;
    out.partition = UINT32_MAX;
    std::string& s = out.match;
    s.clear();
    signature_head(s, out.rule, out.kind, out.key);
    JsonRef offsets = root["offsets"];
    for (size_t i = 0; offsets.is_object() && i < offsets.size(); ++i) {
        s += offsets.member_name(i);
        s += ':';
        JsonRef list = offsets.member_value(i);
        for (size_t j = 0; j < list.size(); ++j) {
            JsonRef pair = list.at(j);
            if (!pair.is_array() || pair.size() < 2 || !pair.at(0).is_number() || !pair.at(1).is_number()) continue;
            auto part = static_cast<uint32_t>(pair.at(0).as_number());
            if (out.partition == UINT32_MAX) out.partition = part;
            signature_event(s, part, static_cast<uint64_t>(pair.at(1).as_number()));
        }
        s += ';';
    }
    sep(s);
    JsonRef w = root["window"];
    if (w.is_object() && w["start"].is_number() && w["end"].is_number())
        signature_window(s, static_cast<int64_t>(w["start"].as_number()), static_cast<int64_t>(w["end"].as_number()));
    return true;
}

bool run_log_replay(const EventLog& log, RuleSetPtr rules, const std::vector<StreamSpec>& streams,
                    const LogReplayOptions& options, LogReplayResult& out, std::string* error) {
    std::vector<uint32_t> parts = options.partitions;
    if (parts.empty())
        for (uint32_t p = 0; p < log.partitions(); ++p) parts.push_back(p);
    for (uint32_t p : parts) {
        if (p >= log.partitions()) {
            if (error) *error = "partition " + std::to_string(p) + " does not exist (the log has " +
                                std::to_string(log.partitions()) + ")";
            return false;
        }
    }
    std::vector<PartitionRun> runs(parts.size());
    for (size_t i = 0; i < parts.size(); ++i) runs[i].id = parts[i];
    uint32_t nworkers = std::max<uint32_t>(1, std::min<uint32_t>(options.workers, static_cast<uint32_t>(parts.size())));

    out.read_threads = options.read_thread.value_or(2 * nworkers <= std::thread::hardware_concurrency());
    const ConditionPlan plan(*rules);
    auto started = std::chrono::steady_clock::now();
    auto work = [&](uint32_t w) {
        for (size_t i = w; i < runs.size(); i += nworkers)
            replay_partition(log, rules, streams, options, plan, out.read_threads, runs[i]);
    };
    if (nworkers == 1) {
        work(0);
    } else {
        std::vector<std::thread> threads;
        for (uint32_t w = 0; w < nworkers; ++w) threads.emplace_back(work, w);
        for (auto& t : threads) t.join();
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    for (auto& r : runs) {
        if (!r.error.empty()) {
            if (error) *error = r.error;
            return false;
        }
        out.events += r.events;
        out.bad_records += r.bad;
        out.late_events += r.late;
        out.engine_cpu_seconds += r.engine_cpu;
        out.reader_cpu_seconds += r.reader_cpu;
        out.batches += r.batches;
        out.condition_batches += r.condition_batches;
        merge_rule_stats(out.rule_stats, r.stats);
        for (auto& b : r.sink->briefs) out.briefs.push_back(std::move(b));
        for (auto& j : r.sink->json) out.alert_json.push_back(std::move(j));
    }
    return true;
}

}  // namespace vigil
