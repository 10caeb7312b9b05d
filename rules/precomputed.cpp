#include "rules/precomputed.h"

#include <algorithm>

namespace vigil {

ConditionPlan::ConditionPlan(const RuleSet& rules) {
    for (const auto& r : rules.rules) {
        if (r->body != RuleBody::Pattern) continue;
        for (const StageSpec& s : r->pattern.stages) {
            const ExprPtr& e = s.where;
            if (!e || !e->reads_payload_only() || exprs_.size() == kMax) continue;
            if (std::find(exprs_.begin(), exprs_.end(), e) == exprs_.end()) exprs_.push_back(e);
        }
    }
}

int ConditionPlan::bit_of(const Expr* e) const {
    for (size_t i = 0; i < exprs_.size(); ++i)
        if (exprs_[i].get() == e) return static_cast<int>(i);
    return -1;
}

void ConditionPlan::evaluate(Event& ev, std::string& scratch) const {
    uint64_t known = 0, truth = 0;
    for (size_t i = 0; i < exprs_.size(); ++i) {
        uint64_t errors = 0;
        EvalContext ctx;
        ctx.event = &ev;
        scratch.clear();
        ctx.scratch = &scratch;
        ctx.type_errors = &errors;
        const bool result = exprs_[i]->test(ctx);
        if (errors) continue;  // the runtime evaluates it again, and counts the error
        known |= uint64_t{1} << i;
        truth |= uint64_t{result} << i;
    }
    ev.cond_plan = this;
    ev.cond_known = known;
    ev.cond_true = truth;
}

}  // namespace vigil
