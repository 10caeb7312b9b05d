#include "daemon/engine_worker.h"
#include "daemon/log_tools.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>

#include "daemon/rate_limit.h"
#include "daemon/table_view.h"
#include "rules/event_pool.h"
#include "storage/log.h"

namespace vigil {

class EngineWorker::Collector : public AlertSink {
public:
    void emit(Alert&& alert) override { alerts.push_back(std::move(alert)); }
    std::vector<Alert> alerts;
};

struct EngineWorker::Partition {
    uint32_t id = 0;
    uint64_t next = 1;            // next offset to read
    uint64_t committed = 0;       // last offset committed as consumed
    Collector sink;
    std::unique_ptr<PartitionEngine> engine;
    EventPool events;  // recycles the Events the engine did not keep
};

// A commit in flight: the worker goes on reading and matching while the log's
// writer commits it; the next checkpoint first collects its result.
struct EngineWorker::InFlight {
    std::future<CommitResult> result;
    std::vector<uint64_t> consumed;
    std::vector<AlertWrite> alerts;  // kept for a retry if the commit fails
    std::vector<StateChange> state;
};

// warm_start (docs/reload.md): the records of this partition already read, by event time.
namespace {
WarmSource warm_source(const EventLog& log, uint32_t partition, uint64_t next) {
    return [&log, partition, next](int64_t from, int64_t to, const std::function<void(EventPtr)>& feed) {
        Status st = log.scan_time(partition, from, to, 0, [&](const RecordView& r) {
            if (r.offset >= next) return true;
            if (EventPtr ev = event_from_record(r)) feed(std::move(ev));
            return true;
        });
        if (!st.ok) spdlog::error("worker: warm_start read of partition {} failed: {}", partition, st.error);
    };
}

// State stored in LMDB for rules that a swap removed or reset (docs/reload.md).
// `unsaved`: the state of a failed commit, retried at the next checkpoint; that
// of these rules is dropped too, or it would write their rows back after the
// deletes (no engine record would name them then, so no restore frees them).
void drop_stale_state(EventLog& log, const RuleSetPtr& old, const RuleSetPtr& next, uint32_t partition,
                      std::vector<StateChange>& unsaved) {
    if (!old) return;
    CommitBatch batch;
    for (const auto& r : old->rules) {
        const Rule* now = next ? next->find(r->id) : nullptr;
        if (now && now->version == r->version) continue;
        std::erase_if(unsaved, [&](const StateChange& c) { return c.rule == r->id && c.partition == partition; });
        log.state_scan(r->id, partition, [&](std::string_view key, std::string_view) {
            batch.state.push_back(StateChange{r->id, partition, std::string(key), {}, true});
            return true;
        });
    }
    if (batch.state.empty()) return;
    CommitResult res = log.commit_batch(std::move(batch)).get();
    if (!res.ok) spdlog::error("worker: freeing the state of removed rules failed: {}", res.error);
}
}  // namespace

EngineWorker::EngineWorker(EventLog& log, std::vector<uint32_t> partitions, RuleSetPtr rules,
                           std::vector<StreamSpec> streams, const Clock& clock, WorkerOptions options)
    : log_(log), streams_(std::move(streams)), clock_(clock), options_(std::move(options)), all_rules_(rules) {
    for (uint32_t id : partitions) {
        auto p = std::make_unique<Partition>();
        p->id = id;
        p->committed = log_.consumer_offset(options_.consumer, id).value_or(0);
        p->next = std::max(p->committed + 1, log_.first_offset(id));
        p->engine = std::make_unique<PartitionEngine>(rules, streams_, clock_, p->sink);
        if (options_.checkpoint_state) {
            if (!restore(id, *p->engine)) p->engine = std::make_unique<PartitionEngine>(rules, streams_, clock_, p->sink);
            p->engine->track_state_changes(true);
        }
        parts_.push_back(std::move(p));
    }
}

EngineWorker::~EngineWorker() { stop(); }

void EngineWorker::start() {
    last_commit_ms_ = clock_.now_ms();
    running_ = true;
    thread_ = std::thread([this] { run(); });
}

void EngineWorker::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

void EngineWorker::swap_rules(RuleSetPtr rules) {
    std::lock_guard lk(mu_);
    all_rules_ = std::move(rules);
    pending_rules_ = without_disabled(all_rules_);
}

WorkerStats EngineWorker::stats() const {
    std::lock_guard lk(mu_);
    return stats_;
}

bool EngineWorker::poll_partition(Partition& p) {
    uint64_t n = 0;
    uint64_t bad = 0;
    Lookahead ahead(*p.engine);
    auto give = [&](EventPtr ev) { p.engine->push(std::move(ev)); };
    Status st = log_.scan(p.id, p.next, options_.read_batch, [&](const RecordView& r) {
        std::shared_ptr<Event> ev = p.events.acquire();
        p.next = r.offset + 1;
        ++n;
        if (!event_from_record(r, *ev)) {
            ++bad;  // validated at ingest; only a foreign writer gets here
            return true;
        }
        ahead.push(std::move(ev), give);
        return true;
    });
    ahead.drain(give);
    if (!st.ok) {
        static RateLimit limit;
        uint64_t held = 0;
        if (limit.allow(held)) spdlog::error("worker: reading partition {} failed: {}", p.id, st.error);
    }
    since_commit_ += n;
    std::lock_guard lk(mu_);
    stats_.events += n;
    stats_.bad_records += bad;
    return n > 0;
}


void EngineWorker::finish_inflight() {
    if (!inflight_) return;
    std::unique_ptr<InFlight> f = std::move(inflight_);
    CommitResult r = f->result.get();
    if (!r.ok) {
        // Retried first thing in the next checkpoint (nothing of it was stored).
        unsaved_alerts_ = std::move(f->alerts);
        unsaved_state_ = std::move(f->state);
        static RateLimit limit;
        uint64_t held = 0;
        if (limit.allow(held)) spdlog::error("worker: checkpoint failed (will retry): {}", r.error);
        std::lock_guard lk(mu_);
        ++stats_.commit_errors;
        return;
    }
    for (size_t i = 0; i < parts_.size(); ++i) parts_[i]->committed = f->consumed[i];
    std::lock_guard lk(mu_);
    stats_.alerts += f->alerts.size();
}

void EngineWorker::checkpoint(bool force) {
    size_t pending = unsaved_alerts_.size();
    for (const auto& p : parts_) pending += p->sink.alerts.size();
    int64_t now = clock_.now_ms();
    bool due = since_commit_ >= options_.checkpoint_events ||
               (since_commit_ > 0 && now - last_commit_ms_ >= options_.checkpoint_interval_ms);
    if (!force && pending == 0 && !due) return;
    finish_inflight();  // one commit in flight at a time, in order

    CommitBatch batch;
    batch.state = std::move(unsaved_state_);  // from a commit that failed
    batch.alerts = std::move(unsaved_alerts_);
    unsaved_state_.clear();
    unsaved_alerts_.clear();
    // With checkpointed state, a commit only for pending alerts stores them (and
    // queues them for publishing) without state and offsets: a crash before the next
    // full checkpoint re-raises them with the same ids.
    const bool alerts_only = options_.checkpoint_state && !force && !due;
    std::vector<uint64_t> consumed(parts_.size());
    for (size_t i = 0; i < parts_.size(); ++i) {
        auto& p = *parts_[i];
        // Records still buffered for reordering are not consumed yet, unless the
        // checkpoint holds the reorder buffer.
        uint64_t oldest = options_.checkpoint_state ? 0 : p.engine->min_buffered_offset();
        consumed[i] = alerts_only ? p.committed : oldest ? oldest - 1 : p.next - 1;
        if (options_.checkpoint_state && !alerts_only)
            add_state(p.id, *p.engine, batch, consumed[i] != p.committed || !p.sink.alerts.empty());
        if (consumed[i] != p.committed) batch.offsets.push_back({options_.consumer, p.id, consumed[i]});
        for (auto& a : p.sink.alerts) {
            AlertWrite w;
            w.time = a.time;
            w.id = a.id;
            w.json = a.to_json();
            w.topic = a.topic.empty() ? render_topic(options_.default_alert_topic, a) : a.topic;
            w.qos = a.qos < 0 ? options_.default_alert_qos : a.qos;
            batch.alerts.push_back(std::move(w));
        }
        p.sink.alerts.clear();
    }
    if (!alerts_only) {
        since_commit_ = 0;
        last_commit_ms_ = now;
    }
    if (batch.offsets.empty() && batch.alerts.empty() && batch.state.empty()) return;
    auto f = std::make_unique<InFlight>();
    f->consumed = std::move(consumed);
    f->alerts = batch.alerts;
    f->state = batch.state;
    f->result = log_.commit_batch(std::move(batch));
    inflight_ = std::move(f);
    if (force) finish_inflight();
}

std::vector<RuleStats> EngineWorker::rule_stats() const {
    std::lock_guard lk(mu_);
    return rule_stats_;
}

void EngineWorker::run() {
    int64_t last_tick = 0;
    // The rules read the tables through this thread's view; one read snapshot per batch.
    std::unique_ptr<TableView> tables = options_.tables ? std::make_unique<TableView>(*options_.tables) : nullptr;
    TableScope table_scope(tables.get());
    for (;;) {
        bool stopping = stop_.load();
        RuleSetPtr next;
        {
            std::lock_guard lk(mu_);
            next = std::move(pending_rules_);
            pending_rules_.reset();
        }
        if (next) {
            finish_inflight();  // its rows are in the store before stale ones are looked up
            for (auto& p : parts_) {
                drop_stale_state(log_, p->engine->rules(), next, p->id, unsaved_state_);
                p->engine->swap_rules(next, warm_source(log_, p->id, p->next));
            }
        }
        bool any = false;
        // The alerts of the pipelined commit count against the bound too.
        const uint64_t in_flight = inflight_ ? inflight_->alerts.size() : 0;
        bool room = !options_.admit || options_.admit(std::chrono::milliseconds(0), in_flight);
        if (room)
            for (auto& p : parts_) any |= poll_partition(*p);
        int64_t now = clock_.now_ms();
        if (now - last_tick >= 100) {
            for (auto& p : parts_) p->engine->on_wall_clock(now);
            last_tick = now;
            std::vector<RuleStats> snapshot;
            uint64_t late = 0;
            for (auto& p : parts_) {
                merge_rule_stats(snapshot, p->engine->stats());
                late += p->engine->late_events();
            }
            std::lock_guard lk(mu_);
            rule_stats_ = std::move(snapshot);
            stats_.late_events = late;
        }
        run_tasks();
        if (tables) tables->end_batch();
        checkpoint(stopping && !any);
        // Collect a finished commit (stats, committed offsets); when idle, wait for it.
        if (inflight_ && (!any || inflight_->result.wait_for(std::chrono::seconds(0)) == std::future_status::ready))
            finish_inflight();
        if (stopping && !any) break;
        if (!room) options_.admit(std::chrono::milliseconds(50), inflight_ ? inflight_->alerts.size() : 0);  // the outbox is full: wait for the publisher
        else if (!any) wait_for_records(std::chrono::milliseconds(20));
    }
    {
        std::lock_guard lk(mu_);
        running_ = false;
    }
    run_tasks();  // those queued before running_ fell
}

// Idle: until a record lands in any of this worker's partitions (or `timeout`).
void EngineWorker::wait_for_records(std::chrono::milliseconds timeout) {
    std::vector<std::pair<uint32_t, uint64_t>> after;
    after.reserve(parts_.size());
    for (const auto& p : parts_) after.emplace_back(p->id, p->next - 1);
    log_.wait_for_any(after, timeout);
}

// An inspection task: the caller waits on `cv` for `done`; `cancelled` (set by a
// caller that gave up) keeps the worker from running it later.
struct EngineWorker::Task {
    std::function<void(uint32_t, const PartitionEngine&)> fn;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    bool cancelled = false;
};

bool EngineWorker::inspect(const std::function<void(uint32_t, const PartitionEngine&)>& fn,
                           std::chrono::milliseconds timeout) {
    auto task = std::make_shared<Task>();
    task->fn = fn;
    {
        std::lock_guard lk(mu_);
        if (!running_) return false;
        tasks_.push_back(task);
    }
    std::unique_lock lk(task->mu);
    if (task->cv.wait_for(lk, timeout, [&] { return task->done; })) return true;
    task->cancelled = true;
    return false;
}

void EngineWorker::run_tasks() {
    std::vector<std::shared_ptr<Task>> tasks;
    {
        std::lock_guard lk(mu_);
        tasks.swap(tasks_);
    }
    for (auto& t : tasks) {
        std::lock_guard lk(t->mu);
        if (t->cancelled) continue;
        for (auto& p : parts_) t->fn(p->id, *p->engine);
        t->done = true;
        t->cv.notify_all();
    }
}

RuleSetPtr EngineWorker::without_disabled(const RuleSetPtr& rules) const {
    if (!rules || disabled_.empty()) return rules;
    auto out = std::make_shared<RuleSet>();
    for (const auto& r : rules->rules)
        if (!disabled_.count(r->id)) out->rules.push_back(r);
    return out;
}

void EngineWorker::set_rule_enabled(const std::string& id, bool enabled) {
    std::lock_guard lk(mu_);
    bool changed = enabled ? disabled_.erase(id) > 0 : disabled_.insert(id).second;
    if (changed) pending_rules_ = without_disabled(all_rules_);
}

bool EngineWorker::rule_enabled(const std::string& id) const {
    std::lock_guard lk(mu_);
    return !disabled_.count(id);
}

}  // namespace vigil
