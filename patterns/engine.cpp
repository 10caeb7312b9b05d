#include "patterns/engine.h"

#include <algorithm>
#include <functional>

#include "patterns/emit.h"
#include "patterns/state_codec.h"
#include "rules/same_bytes.h"
#include "rules/table_lookup.h"

namespace vigil {

namespace {
constexpr int64_t kNoWatermark = INT64_MIN;

int64_t sub_sat(int64_t a, int64_t b) {
    if (a == INT64_MAX) return INT64_MAX;
    if (b > 0 && a < INT64_MIN + b) return INT64_MIN;
    return a - b;
}

bool same_key(const std::vector<FieldPath>& a, const std::vector<FieldPath>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].text != b[i].text) return false;
    return true;
}
}  // namespace

struct PartitionEngine::Stream {
    StreamSpec spec;
    int64_t max_seen = kNoWatermark;
    int64_t watermark = kNoWatermark;
    int64_t last_arrival_wall = kNoWatermark;
    struct Item {
        int64_t time;
        uint64_t arrival;
        EventPtr ev;
        bool operator>(const Item& o) const { return time != o.time ? time > o.time : arrival > o.arrival; }
    };
    std::vector<Item> heap;  // min-heap by (time, arrival)
};

struct PartitionEngine::RuleEntry {
    RulePtr rule;
    std::unique_ptr<RuleRuntime> runtime;
    uint64_t events = 0;
    uint64_t late = 0;
    uint64_t errors = 0;
    int64_t last_watermark = kNoWatermark;  // of the rule's stream(s), as the engine last passed it on
    int64_t told_watermark = kNoWatermark;  // the last the runtime was told (notify() skips advances below due())
    // deliver()'s per-event shortcuts: whether the rule sees `seen_stream` and keys
    // it as that stream does (both decided once per stream, not per event), and
    // the entry whose identical `where` is evaluated once per event for all.
    const Stream* seen_stream = nullptr;
    bool sees_stream = false;
    bool same_key_as_stream = false;
    size_t where_leader = SIZE_MAX;  // index into entries_; SIZE_MAX: evaluates its own
    int8_t where_result = -1;        // leaders: this event's result, -1 not yet known
};

PartitionEngine::PartitionEngine(RuleSetPtr rules, std::vector<StreamSpec> streams, const Clock& clock,
                                 AlertSink& sink, RuntimeFactory factory, StreamSpec default_stream)
    : default_stream_(std::move(default_stream)), clock_(clock), sink_(sink), factory_(factory) {
    for (auto& spec : streams) {
        auto s = std::make_unique<Stream>();
        s->spec = std::move(spec);
        streams_.push_back(std::move(s));
    }
    swap_rules(std::move(rules));
}

PartitionEngine::~PartitionEngine() = default;

PartitionEngine::RuleEntry PartitionEngine::make_entry(RulePtr rule) {
    RuleEntry e;
    e.runtime = factory_(rule, clock_);
    if (e.runtime) e.runtime->track_changes(tracking_);
    e.rule = std::move(rule);
    return e;
}

namespace {
class DiscardSink : public AlertSink {
public:
    void emit(Alert&&) override {}
};
}  // namespace

void PartitionEngine::warm_up(RuleEntry& e, int64_t watermark, const WarmSource& warm) {
    DiscardSink discard;
    int64_t to = watermark == INT64_MAX ? INT64_MAX : watermark + 1;
    warm(sub_sat(watermark, e.rule->warm_start_ms), to, [&](EventPtr ev) {
        const Stream& s = stream_for(ev->stream);
        if (s.watermark == kNoWatermark || ev->time > s.watermark) return;  // still buffered: comes live
        if (!sees(e, *ev)) return;
        EventPtr keyed = keyed_for(e, ev);
        if (!keyed) return;
        warm_events_++;
        e.runtime->on_event(keyed, discard);
    });
    e.told_watermark = watermark;
    e.runtime->on_watermark(watermark, discard);
}

// `state_on_change: keep`: `e` (fresh, for the new version) takes over `prev`'s
// state. On refusal `e` is rebuilt fresh (a refused hand-over may have begun).
bool PartitionEngine::keep_state(RuleEntry& e, std::vector<RuleEntry>::iterator prev) {
    KeepOutcome o{e.rule->id, false, {}};
    o.kept = e.runtime->adopt_state(*prev->runtime, o.why_not);
    if (o.kept) {
        e.events = prev->events;
        e.late = prev->late;
        e.errors = prev->errors;
        e.last_watermark = e.told_watermark = prev->last_watermark;
        // A shorter `within` may have made deadlines due: they fire now.
        if (e.last_watermark != kNoWatermark) e.runtime->on_watermark(e.last_watermark, sink_);
    } else {
        e = make_entry(e.rule);
    }
    bool kept = o.kept;
    last_keep_.push_back(std::move(o));
    return kept;
}

void PartitionEngine::swap_rules(RuleSetPtr rules, const WarmSource& warm) {
    std::vector<RuleEntry> next;
    last_keep_.clear();
    if (rules) {
        for (const auto& rule : rules->rules) {
            if (!rule->enabled) continue;
            auto old = std::find_if(entries_.begin(), entries_.end(), [&](const RuleEntry& e) {
                return e.runtime && e.rule->id == rule->id && e.rule->version == rule->version;
            });
            if (old != entries_.end()) {
                next.push_back(std::move(*old));
                continue;
            }
            RuleEntry e = make_entry(rule);
            if (!e.runtime) continue;
            if (rule->state_on_change == StateOnChange::Keep) {
                auto prev = std::find_if(entries_.begin(), entries_.end(),
                                         [&](const RuleEntry& p) { return p.runtime && p.rule->id == rule->id; });
                if (prev != entries_.end() && keep_state(e, prev)) {
                    next.push_back(std::move(e));
                    continue;
                }
                if (!e.runtime) continue;
            }
            // A fresh runtime starts at the current watermark of its stream(s).
            const int64_t wm = streams_watermark(*rule);
            if (wm != kNoWatermark) {
                e.last_watermark = e.told_watermark = wm;
                if (rule->warm_start_ms > 0 && warm) warm_up(e, wm, warm);
                else e.runtime->on_watermark(wm, sink_);
            }
            next.push_back(std::move(e));
        }
    }
    entries_ = std::move(next);
    rules_ = std::move(rules);
    table_reads_.clear();
    auto reads = [&](const Rule& r, const ExprPtr& x) {
        if (x && x->reads_tables()) table_reads_.push_back({r.stream, x.get()});
    };
    for (const RuleEntry& e : entries_) {
        const Rule& r = *e.rule;
        reads(r, r.where);
        for (const StageSpec& st : r.pattern.stages) reads(r, st.where), reads(r, st.until);
        for (const AggregateSpec& a : r.window.aggregates) reads(r, a.arg);
    }
    // Rules whose `where` has the same text (and no Lua) share one evaluation per event.
    for (size_t i = 0; i < entries_.size(); ++i) {
        RuleEntry& e = entries_[i];
        e.seen_stream = nullptr;
        e.where_leader = SIZE_MAX;
        if (!e.rule->where || e.rule->lua) continue;
        for (size_t j = 0; j < i; ++j) {
            const RuleEntry& l = entries_[j];
            if (l.where_leader == j && l.rule->where && !l.rule->lua &&
                l.rule->where->source() == e.rule->where->source()) {
                e.where_leader = j;
                break;
            }
        }
        if (e.where_leader == SIZE_MAX) e.where_leader = i;
    }
    where_groups_.clear();
    for (size_t i = 0; i < entries_.size(); ++i) {
        std::string_view name, text;
        if (entries_[i].where_leader != i || !entries_[i].rule->where->string_equality(name, text)) continue;
        auto g = std::find_if(where_groups_.begin(), where_groups_.end(),
                              [&](const WhereGroup& w) { return w.name == name; });
        if (g == where_groups_.end()) g = where_groups_.insert(g, WhereGroup{name, {}});
        g->texts.emplace_back(i, text);
    }
    // deliver() forgets the last event's results of the leaders the groups do not set.
    unset_leaders_.clear();
    for (size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].where_leader != i) continue;
        bool grouped = false;
        for (const WhereGroup& g : where_groups_)
            for (const auto& t : g.texts) grouped = grouped || t.first == i;
        if (!grouped) unset_leaders_.push_back(i);
    }
}

PartitionEngine::Stream& PartitionEngine::stream_for(std::string_view name) {
    for (auto& s : streams_)
        if (same_text(s->spec.name, name)) return *s;
    auto s = std::make_unique<Stream>();
    s->spec = default_stream_;
    s->spec.name = std::string(name);
    streams_.push_back(std::move(s));
    return *streams_.back();
}

void PartitionEngine::push(EventPtr ev) {
    events_in_++;
    Stream& s = stream_for(ev->stream);
    s.last_arrival_wall = clock_.now_ms();
    if (s.watermark != kNoWatermark && ev->time < s.watermark) {
        late(ev);
        return;
    }
    s.max_seen = std::max(s.max_seen, ev->time);
    int64_t wm = sub_sat(s.max_seen, s.spec.max_out_of_order_ms);
    if (s.heap.empty() && ev->time <= std::max(wm, s.watermark)) {
        // In order and already released by the new watermark: no buffering.
        int64_t before = s.watermark;
        s.watermark = std::max(wm, s.watermark);
        deliver(ev, s);
        if (s.watermark > before) notify(s);
        return;
    }
    s.heap.push_back(Stream::Item{ev->time, arrival_++, std::move(ev)});
    std::push_heap(s.heap.begin(), s.heap.end(), std::greater<Stream::Item>());
    advance_to(s, wm);
}

void PartitionEngine::prefetch(const Event& ev) const {
    const TableLookup* tables = current_table_lookup();
    if (!tables) return;
    for (const TableRead& r : table_reads_)
        if (r.stream.empty() || r.stream == ev.stream) r.expr->prefetch_tables(ev, *tables);
}

void PartitionEngine::advance_to(Stream& s, int64_t watermark) {
    bool moved = watermark > s.watermark;
    if (moved) s.watermark = watermark;
    while (!s.heap.empty() && s.heap.front().time <= s.watermark) {
        std::pop_heap(s.heap.begin(), s.heap.end(), std::greater<Stream::Item>());
        EventPtr ev = std::move(s.heap.back().ev);
        s.heap.pop_back();
        deliver(ev, s);
    }
    if (moved) notify(s);
}

void PartitionEngine::advance_watermark(std::string_view stream, int64_t watermark) {
    if (stream.empty()) {
        for (auto& s : streams_) advance_to(*s, watermark);
        return;
    }
    advance_to(stream_for(stream), watermark);
}

void PartitionEngine::on_wall_clock(int64_t now_ms) {
    for (auto& s : streams_) {
        if (s->spec.idle_timeout_ms <= 0 || s->last_arrival_wall == kNoWatermark) continue;
        if (now_ms - s->last_arrival_wall < s->spec.idle_timeout_ms) continue;
        advance_to(*s, sub_sat(now_ms, s->spec.max_out_of_order_ms));
    }
}

void PartitionEngine::flush() {
    for (auto& s : streams_) advance_to(*s, INT64_MAX);
    for (auto& e : entries_) {
        if (e.last_watermark == INT64_MAX && e.told_watermark == INT64_MAX) continue;
        e.last_watermark = e.told_watermark = INT64_MAX;
        e.runtime->on_watermark(INT64_MAX, sink_);
    }
}

void PartitionEngine::notify(const Stream& s) {
    for (auto& e : entries_) {
        if (e.seen_stream == &s) {
            if (!e.sees_stream) continue;
        } else if (!e.rule->stream.empty() && e.rule->stream != s.spec.name) {
            continue;
        }
        if (s.watermark <= e.last_watermark) continue;
        e.last_watermark = s.watermark;
        if (s.watermark < e.runtime->due()) continue;  // nothing due: told before its next late event
        e.told_watermark = s.watermark;
        e.runtime->on_watermark(s.watermark, sink_);
    }
}

void PartitionEngine::catch_up(RuleEntry& e) {
    if (e.told_watermark >= e.last_watermark) return;
    e.told_watermark = e.last_watermark;
    e.runtime->on_watermark(e.last_watermark, sink_);
}

bool PartitionEngine::sees(const RuleEntry& r, const Event& ev) {
    if (!r.rule->stream.empty() && r.rule->stream != ev.stream) return false;
    if (!r.rule->where) return true;
    EvalContext ctx;
    ctx.event = &ev;
    ctx.lua = r.rule->lua.get();
    scratch_.clear();
    ctx.scratch = &scratch_;
    return r.rule->where->test(ctx);
}

// The event as the rule keys it: itself, or a copy under the rule's key.
EventPtr PartitionEngine::keyed_for(RuleEntry& r, const EventPtr& ev) {
    const auto& key = r.rule->key;
    if (key.empty()) return ev;
    const Stream& s = stream_for(ev->stream);
    if (same_key(key, s.spec.key)) return ev;
    std::string k;
    if (!extract_key(key, ev->topic, ev->root(), k)) {
        r.errors++;
        return nullptr;
    }
    if (k == ev->key) return ev;
    auto copy = std::make_shared<Event>();
    copy->time = ev->time;
    copy->ingest_time = ev->ingest_time;
    copy->partition = ev->partition;
    copy->offset = ev->offset;
    copy->stream = ev->stream;
    copy->topic = ev->topic;
    copy->key = std::move(k);
    copy->doc = ev->doc;
    return copy;
}

void PartitionEngine::deliver(const EventPtr& ev, const Stream& s) {
    // The same decisions as sees() and keyed_for(), with the per-stream parts
    // cached and shared `where`s evaluated once.
    for (size_t i : unset_leaders_) entries_[i].where_result = -1;
    for (const WhereGroup& g : where_groups_) {
        // Missing or not a string: `==` with a string is false.
        const JsonRef v = ev->root()[g.name];
        const bool is_string = v.is_string();
        const std::string_view got = v.as_string();
        for (const auto& [leader, text] : g.texts) entries_[leader].where_result = is_string && got == text ? 1 : 0;
    }
    for (auto& e : entries_) {
        if (e.seen_stream != &s) {
            e.seen_stream = &s;
            e.sees_stream = e.rule->stream.empty() || e.rule->stream == s.spec.name;
            e.same_key_as_stream = e.rule->key.empty() || same_key(e.rule->key, s.spec.key);
        }
        if (!e.sees_stream) continue;
        if (e.where_leader != SIZE_MAX) {
            RuleEntry& l = entries_[e.where_leader];
            if (l.where_result < 0) {
                EvalContext ctx;
                ctx.event = ev.get();
                scratch_.clear();
                ctx.scratch = &scratch_;
                l.where_result = l.rule->where->test(ctx) ? 1 : 0;
            }
            if (!l.where_result) continue;
        } else if (e.rule->where) {
            EvalContext ctx;
            ctx.event = ev.get();
            ctx.lua = e.rule->lua.get();
            scratch_.clear();
            ctx.scratch = &scratch_;
            if (!e.rule->where->test(ctx)) continue;
        }
        if (e.same_key_as_stream) {
            e.events++;
            e.runtime->on_event(ev, sink_);
            continue;
        }
        EventPtr keyed = keyed_for(e, ev);
        if (!keyed) continue;
        e.events++;
        e.runtime->on_event(keyed, sink_);
    }
}

void PartitionEngine::late(const EventPtr& ev) {
    late_total_++;
    for (auto& e : entries_) {
        if (!sees(e, *ev)) continue;
        EventPtr keyed = keyed_for(e, ev);
        if (!keyed) continue;
        catch_up(e);
        if (e.runtime->on_late_event(keyed, sink_)) continue;
        e.late++;
        if (e.rule->late_topic.empty()) continue;
        Alert a;
        a.kind = "late";
        a.key = keyed->key;
        a.time = keyed->time;
        a.events.emplace_back("late", EventList{keyed});
        EvalContext ctx;
        ctx.event = keyed.get();
        ctx.lua = e.rule->lua.get();
        finish_alert(*e.rule, a, ctx, clock_.now_ms());
        a.topic = render_topic(e.rule->late_topic, a);
        sink_.emit(std::move(a));
    }
}

int64_t PartitionEngine::streams_watermark(const Rule& rule) const {
    int64_t wm = kNoWatermark;
    for (const auto& s : streams_)
        if (rule.stream.empty() || rule.stream == s->spec.name) wm = std::max(wm, s->watermark);
    return wm;
}

int64_t PartitionEngine::watermark(std::string_view stream) const {
    for (const auto& s : streams_)
        if (s->spec.name == stream) return s->watermark;
    return kNoWatermark;
}

size_t PartitionEngine::buffered() const {
    size_t n = 0;
    for (const auto& s : streams_) n += s->heap.size();
    return n;
}

void merge_rule_stats(std::vector<RuleStats>& into, const std::vector<RuleStats>& from) {
    for (const auto& s : from) {
        auto it = std::find_if(into.begin(), into.end(), [&](const RuleStats& x) { return x.rule == s.rule; });
        if (it == into.end()) {
            into.push_back(s);
            continue;
        }
        it->events += s.events;
        it->keys += s.keys;
        it->state_bytes += s.state_bytes;
        it->counters.evaluations += s.counters.evaluations;
        it->counters.matches += s.counters.matches;
        it->counters.late_events += s.counters.late_events;
        it->counters.errors += s.counters.errors;
        it->counters.dropped_partial_matches += s.counters.dropped_partial_matches;
        it->counters.dropped_keys += s.counters.dropped_keys;
    }
}

uint64_t PartitionEngine::min_buffered_offset() const {
    uint64_t lowest = 0;
    for (const auto& s : streams_)
        for (const auto& item : s->heap)
            if (lowest == 0 || item.ev->offset < lowest) lowest = item.ev->offset;
    return lowest;
}

std::vector<RuleStats> PartitionEngine::stats() const {
    std::vector<RuleStats> out;
    for (const auto& e : entries_) {
        RuleStats st;
        st.rule = e.rule->id;
        st.counters = e.runtime->counters();
        st.counters.late_events += e.late;
        st.counters.errors += e.errors;
        st.events = e.events;
        st.keys = e.runtime->key_count();
        st.state_bytes = e.runtime->state_bytes();
        out.push_back(std::move(st));
    }
    return out;
}

const RuleRuntime* PartitionEngine::runtime(std::string_view rule_id) const {
    for (const auto& e : entries_)
        if (e.rule->id == rule_id) return e.runtime.get();
    return nullptr;
}

// ---- checkpoints (docs/state.md "Engine record") ----

void PartitionEngine::track_state_changes(bool on) {
    tracking_ = on;
    for (auto& e : entries_) e.runtime->track_changes(on);
}

void PartitionEngine::take_state_changes(const std::function<void(const Rule&, StateDelta&)>& fn) {
    StateDelta delta;
    for (auto& e : entries_) {
        if (!e.runtime->checkpointable()) continue;
        delta.clear();
        e.runtime->take_changes(delta);
        fn(*e.rule, delta);
    }
}

std::string PartitionEngine::save_state() const {
    std::string out(1, static_cast<char>(kEngineStateFormat));
    put_varint(out, arrival_);
    put_varint(out, streams_.size());
    for (const auto& s : streams_) {
        put_bytes(out, s->spec.name);
        put_zigzag(out, s->max_seen);
        put_zigzag(out, s->watermark);
        put_varint(out, s->last_arrival_wall == kNoWatermark ? 0 : 1);
        put_varint(out, s->heap.size());
        for (const auto& item : s->heap) {
            put_varint(out, item.ev->offset);
            put_varint(out, item.arrival);
        }
    }
    put_varint(out, entries_.size());
    for (const auto& e : entries_) {
        put_bytes(out, e.rule->id);
        put_bytes(out, e.rule->version);
        put_zigzag(out, e.last_watermark);
    }
    return out;
}

bool PartitionEngine::restore_state(std::string_view bytes, const std::function<EventPtr(uint64_t)>& fetch,
                                    std::vector<SavedRule>& rules, size_t& lost, std::string* error) {
    StateReader in(bytes);
    lost = 0;
    if (in.byte() != kEngineStateFormat) {
        if (error) *error = "engine state: unknown format byte";
        return false;
    }
    arrival_ = in.u();
    for (uint64_t i = 0, n = in.count(); i < n && in.ok(); ++i) {
        Stream& s = stream_for(in.bytes());
        s.max_seen = in.i();
        s.watermark = in.i();
        // Idle time restarts at the restore (wall time does not survive a restart).
        s.last_arrival_wall = in.u() ? clock_.now_ms() : kNoWatermark;
        s.heap.clear();
        for (uint64_t j = 0, m = in.count(); j < m && in.ok(); ++j) {
            uint64_t offset = in.u();
            uint64_t arrival = in.u();
            if (!in.ok()) break;
            EventPtr ev = fetch(offset);
            if (!ev) {
                ++lost;
                continue;
            }
            s.heap.push_back(Stream::Item{ev->time, arrival, std::move(ev)});
        }
        std::make_heap(s.heap.begin(), s.heap.end(), std::greater<Stream::Item>());
    }
    rules.clear();
    for (uint64_t i = 0, n = in.count(); i < n && in.ok(); ++i) {
        SavedRule r;
        r.id.assign(in.bytes());
        r.version.assign(in.bytes());
        r.watermark = in.i();
        rules.push_back(std::move(r));
    }
    if (!in.ok() || !in.at_end()) {
        if (error) *error = "engine state: truncated or malformed bytes";
        return false;
    }
    return true;
}

RuleRuntime* PartitionEngine::runtime_for(std::string_view id, std::string_view version) {
    for (auto& e : entries_)
        if (e.rule->id == id && e.rule->version == version) return e.runtime.get();
    return nullptr;
}

void PartitionEngine::finish_restore(const std::vector<SavedRule>& rules) {
    for (auto& e : entries_) {
        auto saved = std::find_if(rules.begin(), rules.end(), [&](const SavedRule& r) {
            return r.id == e.rule->id && r.version == e.rule->version;
        });
        const int64_t wm = saved != rules.end() ? saved->watermark : streams_watermark(*e.rule);
        if (wm == kNoWatermark || wm <= e.last_watermark) continue;
        e.last_watermark = e.told_watermark = wm;
        e.runtime->on_watermark(wm, sink_);
    }
}

}  // namespace vigil
