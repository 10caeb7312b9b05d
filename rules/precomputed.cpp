#include "rules/precomputed.h"

#include <algorithm>

#include "rules/same_bytes.h"

namespace vigil {

ConditionPlan::ConditionPlan(const RuleSet& rules) {
    for (const auto& r : rules.rules) {
        if (r->body != RuleBody::Window) continue;
        for (const AggregateSpec& a : r->window.aggregates) {
            std::string_view name;
            if (!a.arg || !a.arg->member_read(name) || number_of(name) >= 0) continue;
            if (numbers_.size() < Event::kNumbers) numbers_.push_back(name);
        }
    }
    for (const auto& r : rules.rules) {
        if (r->body != RuleBody::Pattern) continue;
        RuleConditions rc;
        // Later stages' conditions are asked only of a key with a partial match,
        // mostly a small share of the events: the runtime evaluates those itself.
        for (uint32_t j : r->pattern.start_stages()) {
            const ExprPtr& e = r->pattern.stages[j].where;
            if (!e || !e->reads_payload_only()) continue;
            auto at = std::find(exprs_.begin(), exprs_.end(), e);
            if (at == exprs_.end() && exprs_.size() < kMax) at = exprs_.insert(exprs_.end(), e);
            if (at != exprs_.end()) rc.bits.push_back(static_cast<uint8_t>(at - exprs_.begin()));
        }
        if (rc.bits.empty()) continue;
        if (r->where && r->where->reads_payload_only()) {
            rc.where = r->where;
            rc.equality = r->where->string_equality(rc.name, rc.text);
        }
        rules_.push_back(std::move(rc));
    }
}

int ConditionPlan::bit_of(const Expr* e) const {
    for (size_t i = 0; i < exprs_.size(); ++i)
        if (exprs_[i].get() == e) return static_cast<int>(i);
    return -1;
}

int ConditionPlan::number_of(std::string_view name) const {
    for (size_t i = 0; i < numbers_.size(); ++i)
        if (same_text(numbers_[i], name)) return static_cast<int>(i);
    return -1;
}

void ConditionPlan::read_numbers(Event& ev) const {
    uint8_t known = 0;
    const JsonRef root = ev.root();
    for (size_t i = 0; i < numbers_.size(); ++i) {
        const JsonRef v = root[numbers_[i]];
        if (!v.is_number()) continue;
        ev.nums[i] = v.as_number();
        known |= static_cast<uint8_t>(1u << i);
    }
    ev.cond_plan = this;
    ev.cond_known = ev.cond_true = 0;
    ev.num_known = known;
}

void ConditionPlan::evaluate(Event& ev, std::string& scratch) const {
    read_numbers(ev);
    uint64_t known = 0, truth = 0, done = 0;
    EvalContext ctx;
    ctx.event = &ev;
    ctx.scratch = &scratch;
    std::string_view read_name;  // the member the last `NAME == "TEXT"` where read, and its value
    JsonRef read_value;
    bool read = false;
    for (const RuleConditions& rc : rules_) {
        // A rule's stage conditions are asked only of the events its `where` lets
        // through: the others are left to the engine, which will not ask.
        if (rc.equality) {
            if (!read || !same_text(read_name, rc.name)) {
                read_name = rc.name;
                read_value = ev.root()[rc.name];
                read = true;
            }
            if (!read_value.is_string() || !same_text(read_value.as_string(), rc.text)) continue;
        } else if (rc.where) {
            uint64_t errors = 0;
            ctx.type_errors = &errors;
            scratch.clear();
            if (!rc.where->test(ctx) && !errors) continue;
        }
        for (uint8_t i : rc.bits) {
            const uint64_t bit = uint64_t{1} << i;
            if (done & bit) continue;
            done |= bit;
            uint64_t errors = 0;
            ctx.type_errors = &errors;
            scratch.clear();
            const bool result = exprs_[i]->test(ctx);
            if (errors) continue;  // the runtime evaluates it again, and counts the error
            known |= bit;
            if (result) truth |= bit;
        }
    }
    ev.cond_plan = this;
    ev.cond_known = known;
    ev.cond_true = truth;
}

}  // namespace vigil
