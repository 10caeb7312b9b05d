// The NFA transitions: what one event does to the partial matches of one key.
#include "patterns/nfa.h"

#include <algorithm>

#include "patterns/nfa_view.h"
#include "rules/precomputed.h"

namespace vigil {

namespace {
constexpr uint16_t kLoopClosed = 1;     // the current stage takes no more events
constexpr uint16_t kAdvanceBlocked = 2;  // a `not` stage saw its event: no way forward
constexpr uint16_t kCompleted = 4;       // already emitted as a match (no timeout later)
constexpr int64_t kNoDeadline = INT64_MAX;

int64_t add_sat(int64_t a, int64_t b) {
    if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
    return a + b;
}
}  // namespace

std::unique_ptr<RuleRuntime> make_pattern_runtime(RulePtr rule, const Clock& clock) {
    return std::make_unique<PatternRuntime>(std::move(rule), clock);
}

struct PatternRuntime::StepCtx {
    const EventPtr* evp;  // null when timers fire
    const Event* ev;
    uint32_t seq;
    std::vector<PartialMatch>& next;
    std::vector<Completed>& done;
};

void PatternRuntime::map_plan_bits(const ConditionPlan& plan) {
    bits_plan_ = &plan;
    plan_bits_.clear();
    for (const StageSpec& stage : pattern_.stages)
        if (int bit = stage.where ? plan.bit_of(stage.where.get()) : -1; bit >= 0)
            plan_bits_.push_back(PlanBit{stage.where.get(), bit});
    // The stages start() tests (as it walks them): when the plan holds all of their
    // conditions, an event with every one of them known false starts nothing.
    start_bits_ = 0;
    for (uint32_t j : start_stages_) {
        const ExprPtr& where = pattern_.stages[j].where;
        const int bit = where ? plan.bit_of(where.get()) : -1;
        if (bit < 0) {
            start_bits_ = 0;
            break;
        }
        start_bits_ |= uint64_t{1} << bit;
    }
}

bool PatternRuntime::test(const ExprPtr& e, const PartialMatch* pm, const Event& ev) {
    if (!e) return true;
    if (ev.cond_plan) {  // the result may have come with the event
        if (ev.cond_plan != bits_plan_) map_plan_bits(*ev.cond_plan);
        for (const PlanBit& b : plan_bits_) {
            if (b.expr != e.get()) continue;
            if ((ev.cond_known >> b.bit) & 1) return (ev.cond_true >> b.bit) & 1;
            break;
        }
    }
    for (const EqTest& q : eq_tests_) {
        if (q.expr != e.get()) continue;
        if (memo_event_ != &ev || !same_text(memo_name_, q.name)) {
            memo_event_ = &ev;
            memo_name_ = q.name;
            memo_value_ = ev.root()[q.name];
        }
        // Missing, null or a string: what `==` with a string gives, without an error.
        // Any other type is a type error, counted by the full evaluation below.
        if (!memo_value_.valid() || memo_value_.is_null()) return false;
        if (memo_value_.is_string()) return same_text(memo_value_.as_string(), q.text);
        break;
    }
    View view(buffer_, pattern_.stages.size(), pm ? pm->node : SharedBuffer::kNone);
    EvalContext ctx;
    ctx.event = &ev;
    ctx.stages = &view;
    ctx.lua = rule_->lua.get();
    scratch_str_.clear();
    ctx.scratch = &scratch_str_;
    ctx.type_errors = &counters_.errors;
    return e->test(ctx);
}

int64_t PatternRuntime::deadline(const PartialMatch& pm) const {
    if (!pattern_.within_ms) return kNoDeadline;
    int64_t base = pattern_.within_type == WithinType::FirstAndLast ? pm.first_time : pm.last_time;
    return add_sat(base, *pattern_.within_ms);
}

bool PatternRuntime::within_ok(const PartialMatch& pm, int64_t t) const {
    int64_t d = deadline(pm);
    return d == kNoDeadline || t < d;
}

bool PatternRuntime::completes(size_t stage, uint32_t count) const {
    return final_negated_ < 0 && count >= min_[stage] && tail_ok_[stage];
}

bool PatternRuntime::waits_for_absence(size_t stage, uint32_t count) const {
    return final_negated_ >= 0 && count >= min_[stage] && tail_ok_[stage];
}

bool PatternRuntime::can_continue(size_t stage, uint32_t count) const {
    return count < pattern_.stages[stage].max_times || has_positive_after_[stage];
}

void PatternRuntime::take(const PartialMatch& pm, size_t stage, uint32_t count, StepCtx& s) {
    PartialMatch np = pm;
    np.node = buffer_.add(pm.node, static_cast<uint16_t>(stage), *s.evp, s.seq);
    np.stage = static_cast<uint16_t>(stage);
    np.count = count;
    np.flags = 0;
    np.last_seq = s.seq;
    np.last_time = s.ev->time;
    if (pm.node == SharedBuffer::kNone) {
        np.start_seq = s.seq;
        np.first_time = s.ev->time;
    }
    if (completes(stage, count)) {
        buffer_.retain(np.node);
        s.done.push_back(Completed{np, false, false});
        np.flags |= kCompleted;
    }
    if (can_continue(stage, count) || waits_for_absence(stage, count)) {
        s.next.push_back(np);
    } else {
        buffer_.release(np.node);
    }
}

// Tries the stages after the current one (Flink's PROCEED edges), walking past
// optional ones. Each stage tried may TAKE the event (a new partial match) and may
// IGNORE it (relaxed: when its condition is false; any: always; strict: never);
// an IGNORE sets `can_wait`: the partial match may wait there for a later event.
// `blocked` is set when a `not` stage saw its event: this way forward is closed.
void PatternRuntime::advance(const PartialMatch& pm, size_t from, StepCtx& s, bool& can_wait, bool& blocked) {
    const auto& stages = pattern_.stages;
    const bool adjacent = s.seq == pm.last_seq + 1;
    for (size_t j = from; j < stages.size(); ++j) {
        const StageSpec& nx = stages[j];
        if (nx.negated) {
            bool applies = nx.contiguity != Contiguity::Strict || adjacent;
            if (applies && test(nx.where, &pm, *s.ev)) {
                blocked = true;
                return;
            }
            if (int(j) == final_negated_) {
                if (nx.contiguity == Contiguity::Strict) {
                    // notNext at the end: the next event was not the forbidden one.
                    if (adjacent) {
                        buffer_.retain(pm.node);
                        s.done.push_back(Completed{pm, true, false});
                    }
                    blocked = true;
                    return;
                }
                can_wait = true;
                return;
            }
            continue;
        }
        bool contiguous = nx.contiguity != Contiguity::Strict || adjacent;
        bool took = contiguous && within_ok(pm, s.ev->time) && test(nx.where, &pm, *s.ev);
        if (took) take(pm, j, 1, s);
        if (nx.contiguity == Contiguity::Any || (nx.contiguity == Contiguity::Relaxed && !took)) can_wait = true;
        if (min_[j] > 0) return;
    }
}

// One partial match and one event, edge by edge as in Flink's NFA: the loop of the
// current stage may TAKE the event and may IGNORE it (stay in the loop); PROCEED
// tries the next stages (see advance()). A partial match that can neither stay in
// its loop nor wait at a next stage ends here.
void PatternRuntime::step(PartialMatch pm, StepCtx& s) {
    const StageSpec& st = pattern_.stages[pm.stage];
    bool loop_took = false, loop_stays = false, can_wait = false, blocked = false;
    if (pm.count < st.max_times && !(pm.flags & kLoopClosed)) {
        if (st.until && test(st.until, &pm, *s.ev)) {
            pm.flags |= kLoopClosed;  // the loop ends; the event may still start the next stage
        } else {
            bool contiguous = st.inner != Contiguity::Strict || s.seq == pm.last_seq + 1;
            loop_took = contiguous && within_ok(pm, s.ev->time) && test(st.where, &pm, *s.ev);
            if (loop_took) take(pm, pm.stage, pm.count + 1, s);
            loop_stays = st.inner == Contiguity::Any || (st.inner == Contiguity::Relaxed && !loop_took);
        }
    }
    if (pm.count >= min_[pm.stage] && !(pm.flags & kAdvanceBlocked) && !(st.greedy && loop_took)) {
        advance(pm, pm.stage + 1u, s, can_wait, blocked);
    }
    if (blocked) {
        pm.flags |= kAdvanceBlocked;
        can_wait = false;
    }
    if (loop_stays) {
        s.next.push_back(pm);
    } else if (can_wait) {
        pm.flags |= kLoopClosed;  // waits at a later stage: no more repetitions
        s.next.push_back(pm);
    } else {
        buffer_.release(pm.node);
    }
}

void PatternRuntime::start(StepCtx& s) {
    PartialMatch root{SharedBuffer::kNone, 0, 0, 0, s.seq, s.seq, s.ev->time, s.ev->time};
    for (uint32_t j : start_stages_)
        if (test(pattern_.stages[j].where, nullptr, *s.ev)) take(root, j, 1, s);
}

void PatternRuntime::apply_skip(const PartialMatch& m, std::vector<PartialMatch>& pms, std::vector<Completed>& done,
                                size_t done_from) {
    // Flink's pruning: a partial match whose first event is at or before (to_next,
    // past_last_event) or before (to_first, to_last) the pruning event goes.
    uint32_t at = 0;
    bool inclusive = true;
    switch (pattern_.skip) {
    case SkipStrategy::NoSkip: return;
    case SkipStrategy::ToNext: at = m.start_seq; break;
    case SkipStrategy::PastLastEvent: at = m.last_seq; break;
    case SkipStrategy::ToFirst:
    case SkipStrategy::ToLast: {
        bool found = false;
        for (auto n = m.node; n != SharedBuffer::kNone; n = buffer_.pred(n)) {
            if (int(buffer_.stage(n)) != skip_stage_) continue;
            if (!found || pattern_.skip == SkipStrategy::ToFirst) at = buffer_.seq(n);
            found = true;
            if (pattern_.skip == SkipStrategy::ToLast) break;  // walking backwards: first seen is last
        }
        if (!found) return;
        inclusive = false;
        break;
    }
    }
    auto prune = [&](uint32_t start) { return inclusive ? start <= at : start < at; };
    size_t w = 0;
    for (size_t i = 0; i < pms.size(); ++i) {
        if (prune(pms[i].start_seq)) {
            buffer_.release(pms[i].node);
        } else {
            pms[w++] = pms[i];
        }
    }
    pms.resize(w);
    for (size_t i = done_from; i < done.size(); ++i)
        if (prune(done[i].pm.start_seq)) done[i].pruned = true;
}

void PatternRuntime::finish_step(KeyState& ks, StepCtx& s, AlertSink& out) {
    auto& done = s.done;
    if (done.size() > 1)
        std::stable_sort(done.begin(), done.end(),
                         [](const Completed& a, const Completed& b) { return a.pm.start_seq < b.pm.start_seq; });
    for (size_t i = 0; i < done.size(); ++i) {
        if (done[i].pruned) continue;
        emit(ks, done[i].pm, "match", out);
        apply_skip(done[i].pm, s.next, done, i + 1);
    }
    for (auto& c : done) buffer_.release(c.pm.node);
    done.clear();
    enforce_partial_limit(s.next);
    ks.pms.assign(s.next.data(), s.next.data() + s.next.size());
    s.next.clear();
}

void PatternRuntime::on_event(const EventPtr& evp, AlertSink& out) {
    if (pattern_.stages.empty()) return;
    counters_.evaluations++;
    memo_event_ = nullptr;  // test()'s member read is per event; this one may sit where an old one did
    fire_timers(evp->time, out);
    const auto hash = static_cast<uint32_t>(event_key_hash(*evp));
    uint32_t slot = key_index_.find_hashed(evp->key, hash);
    const bool known = slot != KeySlots::kNone;
    if (!known && evp->cond_plan) {
        // A key without state, and an event whose start conditions came with it: when
        // all are false the event starts nothing, and there is nothing else to step.
        if (evp->cond_plan != bits_plan_) map_plan_bits(*evp->cond_plan);
        if (start_bits_ && (evp->cond_known & start_bits_) == start_bits_ && !(evp->cond_true & start_bits_)) return;
    }
    StepCtx s{&evp, evp.get(), known ? keys_[slot].next_seq++ : 0, scratch_pms_, scratch_done_};
    s.next.clear();
    s.done.clear();
    if (known) {
        touch_key(slot);
        for (const auto& pm : keys_[slot].pms) step(pm, s);
    }
    start(s);
    if (!known) {
        // A key without state: most events start nothing, so the key is created
        // only when the event starts a partial match or completes one.
        if (s.next.empty() && s.done.empty()) return;
        slot = new_key_slot(evp->key, hash);
        keys_[slot].next_seq = 1;
    }
    KeyState& ks = keys_[slot];
    finish_step(ks, s, out);
    if (ks.pms.empty()) {
        drop_key(slot);
    } else {
        schedule(slot);
    }
}

void PatternRuntime::on_watermark(int64_t watermark, AlertSink& out) { fire_timers(watermark, out); }

// Partial matches whose deadline the watermark reached: absence completes, the
// rest time out.
void PatternRuntime::expire(uint32_t slot, int64_t up_to, AlertSink& out) {
    KeyState& ks = keys_[slot];
    StepCtx s{nullptr, nullptr, 0, scratch_pms_, scratch_done_};
    s.next.clear();
    s.done.clear();
    for (const auto& pm : ks.pms) {
        int64_t d = deadline(pm);
        if (d == kNoDeadline || d > up_to) {
            s.next.push_back(pm);
            continue;
        }
        if (waits_for_absence(pm.stage, pm.count) && !(pm.flags & kAdvanceBlocked)) {
            s.done.push_back(Completed{pm, true, false});  // takes over the reference
            continue;
        }
        if (rule_->emit.timeouts && !(pm.flags & kCompleted)) emit(ks, pm, "timeout", out);
        buffer_.release(pm.node);
    }
    finish_step(ks, s, out);
    if (ks.pms.empty()) {
        drop_key(slot);
    } else {
        schedule(slot);
    }
}

}  // namespace vigil
