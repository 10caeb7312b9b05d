#pragma once
// Event time for one partition: watermarks, reordering, lateness, and routing of
// events to the rule runtimes (ARCHITECTURE.md "Time").
//
// Guarantees (these are the promises of patterns/runtime.h, kept here):
//  - Per stream, watermark = max event time seen - max_out_of_order. Events are
//    buffered and released to the runtimes in event-time order (ties: arrival
//    order) once the watermark reaches them (time <= watermark). Watermarks never
//    go backwards; on_watermark() follows every advance that reaches the runtime's
//    due() (its earliest timer), and precedes every late event it is offered.
//  - An event older than its stream's watermark (time < watermark) is late: each
//    rule that would see it is offered it through on_late_event(); a rule that
//    refuses it counts it in late_events and, when the rule has `late_topic`,
//    emits an alert of kind `late` (key and time of the event, events {"late":
//    [event]}, topic = late_topic rendered like emit.topic).
//  - A rule sees the events of its `stream` ("" = every stream) that pass its
//    `where`. When its `key` differs from the stream's key, the event is re-keyed
//    by the rule's key inside this partition (a copy of the event with that key).
//    Cross-partition regrouping (an internal repartition log) is a later step: until
//    then, keys that span partitions are matched per partition.
//  - advance_watermark() moves one stream's watermark (explicit `$watermark`).
//  - on_wall_clock(now): a stream that has had no event for idle_timeout of wall
//    time (the engine's Clock at push) has its watermark advanced to
//    now - max_out_of_order, and again at every later call while idle, so absence
//    and windows fire when a device goes silent. idle_timeout 0 disables it.
//  - flush(): every watermark to +infinity (INT64_MAX): every buffered event is
//    released and every pending timer (within, absence, window) fires.
//  - swap_rules(): a rule whose id and version are unchanged keeps its runtime and
//    state; others start fresh and receive the current watermark; removed rules'
//    runtimes are destroyed (their state freed). A fresh rule with `warm_start`
//    and a `warm` source, once its stream has a watermark W, is first fed the
//    events of [W - warm_start, W] that this engine already released (those the
//    source yields with time <= their stream's watermark), through its `where`
//    and key, in (event time, offset) order, then W, all with its alerts
//    discarded; only then does it see live events (docs/reload.md).
//  - swap_rules(), `state_on_change: keep`: a changed rule (same id, new version)
//    whose change is compatible (patterns/adopt.h) takes over its previous runtime's
//    state, counters and watermark instead of starting fresh (no warm-up), then
//    receives the current watermark; an incompatible one starts fresh. Each such
//    decision is in last_keep() until the next swap.
// Rules without a stream that see several streams receive each stream's events in
// that stream's order and the largest watermark of their streams.
// Failure modes: none raised; an event whose rule key cannot be extracted is
// invisible to that rule and counted in its `errors`.
// Thread rules: one engine per partition, used by one thread at a time.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "patterns/runtime.h"
#include "rules/rule.h"

namespace vigil {

using RuntimeFactory = std::unique_ptr<RuleRuntime> (*)(RulePtr, const Clock&);

// Yields the partition's stored events with from_time <= time < to_time in (event
// time, offset) order, among those already pushed into the engine.
using WarmSource = std::function<void(int64_t from_time, int64_t to_time, const std::function<void(EventPtr)>& feed)>;

// One `state_on_change: keep` decision of a swap.
struct KeepOutcome {
    std::string rule;
    bool kept = false;
    std::string why_not;  // when not kept
};

struct RuleStats {
    std::string rule;
    RuleCounters counters;  // the runtime's counters, plus the engine's late_events and errors
    uint64_t events = 0;    // events delivered to the runtime
    size_t keys = 0;
    size_t state_bytes = 0;
};

// Adds `from` into `into`, rule by rule (for totals over several partitions).
void merge_rule_stats(std::vector<RuleStats>& into, const std::vector<RuleStats>& from);

class PartitionEngine {
public:
    // `streams`: specs by name; an event of another stream uses `default_stream`
    // (with the event's stream name). `factory` builds runtimes (make_runtime in the
    // daemon; tests may pass make_pattern_runtime).
    PartitionEngine(RuleSetPtr rules, std::vector<StreamSpec> streams, const Clock& clock, AlertSink& sink,
                    RuntimeFactory factory = &make_runtime, StreamSpec default_stream = {});
    ~PartitionEngine();
    PartitionEngine(const PartitionEngine&) = delete;
    PartitionEngine& operator=(const PartitionEngine&) = delete;

    void push(EventPtr ev);
    // Whether a rule looks up reference tables by an event field (Expr::reads_tables),
    // and the hint, for an event to be pushed soon, that reads their cache slots ahead.
    // Lookahead (below) calls both.
    bool reads_tables() const { return !table_reads_.empty(); }
    void prefetch(const Event& ev) const;
    // "" = every stream the engine knows.
    void advance_watermark(std::string_view stream, int64_t watermark);
    void on_wall_clock(int64_t now_ms);
    void flush();
    void swap_rules(RuleSetPtr rules, const WarmSource& warm = {});
    // Events fed to warming rules since the engine was built.
    uint64_t warm_events() const { return warm_events_; }
    // The `state_on_change: keep` decisions of the last swap_rules().
    const std::vector<KeepOutcome>& last_keep() const { return last_keep_; }

    // INT64_MIN when the stream has no watermark yet.
    int64_t watermark(std::string_view stream) const;
    size_t buffered() const;
    // The lowest log offset among events still buffered for reordering (0: none),
    // so a consumer commits only offsets whose events were released.
    uint64_t min_buffered_offset() const;
    uint64_t late_events() const { return late_total_; }
    uint64_t events_in() const { return events_in_; }
    std::vector<RuleStats> stats() const;
    const RuleRuntime* runtime(std::string_view rule_id) const;
    const RuleSetPtr& rules() const { return rules_; }

    // ---- checkpoints (end of patterns/engine.cpp, docs/state.md) ----
    // Turns change tracking on in every runtime, and in runtimes made later.
    void track_state_changes(bool on);
    // fn(rule, delta) for each checkpointable rule, with its keys changed since
    // the last call (delta may be empty).
    void take_state_changes(const std::function<void(const Rule&, StateDelta&)>& fn);
    // The engine's own state: per stream its watermark, max event time and the
    // reorder buffer (log offsets and arrival numbers of the buffered events, not
    // the events), the arrival counter, and per rule (id, version, watermark seen).
    std::string save_state() const;
    struct SavedRule {
        std::string id, version;
        int64_t watermark = INT64_MIN;
    };
    // Restores save_state()'s bytes into a freshly built engine. fetch(offset)
    // returns the logged event at that offset of this partition (null when gone:
    // it is skipped and counted in `lost`). `rules` receives the saved rules.
    bool restore_state(std::string_view bytes, const std::function<EventPtr(uint64_t)>& fetch,
                       std::vector<SavedRule>& rules, size_t& lost, std::string* error);
    // The runtime of rule `id` when its version is `version`, else null (to
    // restore its keys with RuleRuntime::restore_key).
    RuleRuntime* runtime_for(std::string_view id, std::string_view version);
    // Last step of a restore: each restored rule gets back the watermark it had
    // seen, every other rule the current one of its streams (as swap_rules does).
    void finish_restore(const std::vector<SavedRule>& rules);

private:
    struct Stream;
    struct RuleEntry;
    Stream& stream_for(std::string_view name);
    void advance_to(Stream& s, int64_t watermark);
    void deliver(const EventPtr& ev, const Stream& s);  // s: the event's stream
    void late(const EventPtr& ev);
    bool sees(const RuleEntry& r, const Event& ev);
    EventPtr keyed_for(RuleEntry& r, const EventPtr& ev);
    void notify(const Stream& s);
    // Tells e's runtime the watermark notify() held back (it had nothing due).
    void catch_up(RuleEntry& e);
    RuleEntry make_entry(RulePtr rule);
    void warm_up(RuleEntry& e, int64_t watermark, const WarmSource& warm);
    bool keep_state(RuleEntry& e, std::vector<RuleEntry>::iterator prev);
    // The largest watermark of the streams `rule` sees (where a fresh runtime starts).
    int64_t streams_watermark(const Rule& rule) const;

    RuleSetPtr rules_;
    std::vector<std::unique_ptr<Stream>> streams_;
    StreamSpec default_stream_;
    const Clock& clock_;
    AlertSink& sink_;
    RuntimeFactory factory_;
    std::vector<RuleEntry> entries_;
    uint64_t arrival_ = 0;
    uint64_t late_total_ = 0;
    uint64_t events_in_ = 0;
    uint64_t warm_events_ = 0;
    bool tracking_ = false;
    std::string scratch_;
    std::vector<KeepOutcome> last_keep_;
    struct TableRead {
        std::string_view stream;  // the rule's ("" = every stream)
        const Expr* expr;         // owned by the rule, in rules_
    };
    std::vector<TableRead> table_reads_;
    // `where`s of the form `NAME == "TEXT"` (Expr::string_equality), grouped by NAME:
    // deliver() reads each NAME once per event and answers every leader of its group.
    struct WhereGroup {
        std::string_view name;                                   // owned by the rules, in rules_
        std::vector<std::pair<size_t, std::string_view>> texts;  // (leader's index in entries_, TEXT)
    };
    std::vector<WhereGroup> where_groups_;
    std::vector<size_t> unset_leaders_;  // where leaders outside the groups (entries_ indexes)
};

// Gives events to an engine a few events late, after PartitionEngine::prefetch has
// read ahead the reference-table cache slots their rules will look up: the cache
// miss of one event's lookup then overlaps the work on the events before it
// (docs/tables.md). When no rule reads a table, an event goes straight through.
// `give(EventPtr)` is the caller's push (it may set a replay clock first); drain()
// before anything that must see every event pushed (end of a read batch, a table
// snapshot's end, a commit).
class Lookahead {
public:
    static constexpr size_t kDepth = 8;
    explicit Lookahead(const PartitionEngine& engine) : engine_(engine) {}
    template <class Give>
    void push(EventPtr ev, Give&& give) {
        if (!engine_.reads_tables() && held_ == 0) {  // (held_: rules swapped while events were held)
            give(std::move(ev));
            return;
        }
        engine_.prefetch(*ev);
        if (held_ == kDepth) {
            EventPtr due = std::move(ring_[first_]);
            ring_[first_] = std::move(ev);
            first_ = (first_ + 1) % kDepth;
            give(std::move(due));
            return;
        }
        ring_[(first_ + held_++) % kDepth] = std::move(ev);
    }
    template <class Give>
    void drain(Give&& give) {
        while (held_ > 0) {
            EventPtr due = std::move(ring_[first_]);
            first_ = (first_ + 1) % kDepth;
            --held_;
            give(std::move(due));
        }
    }

private:
    const PartitionEngine& engine_;
    EventPtr ring_[kDepth];
    size_t first_ = 0, held_ = 0;
};

}  // namespace vigil
