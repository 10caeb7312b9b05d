#pragma once
// Conditions evaluated ahead of the engine. `vigil replay` reads and parses each
// partition in a reader thread beside the engine thread (daemon/replay_log.cpp);
// while the engine thread is the slower of the two, the reader also evaluates the
// pattern stages' conditions that depend on nothing but the event's payload, and
// hands the results over with the event (Event::cond_*). The pattern runtime takes
// a result from there instead of evaluating the condition again.
//
// Guarantees: a result is handed over only when evaluating the condition counted
// no error (a type error, a failed regex match): any other condition, and any event
// without results, is evaluated by the runtime as before, with its counters. So a
// runtime answers, counts and matches the same with and without the results. A
// number is handed over only when the member holds one; the window runtime reads
// any other value itself, as before.
// Thread rules: a ConditionPlan is immutable once built; evaluate() may run on any
// number of threads at once.
#include <cstdint>
#include <string>
#include <vector>

#include "rules/event.h"
#include "rules/expr.h"
#include "rules/rule.h"

namespace vigil {

class ConditionPlan {
public:
    static constexpr size_t kMax = 64;  // one bit each in Event::cond_known / cond_true

    // The `where`s of the pattern stages of `rules` that read only the event's
    // payload (Expr::reads_payload_only) and that a runtime tests for every event
    // (the first stage, and the next ones while the stage before is optional), each
    // once, at most kMax. Each is evaluated
    // only for the events its rule's `where` lets through, when that `where` reads
    // only the payload too; the others are left unknown (the engine never asks).
    explicit ConditionPlan(const RuleSet& rules);
    size_t size() const { return exprs_.size(); }
    // The bit of `e` in the event's results, or -1 when the plan does not hold it.
    int bit_of(const Expr* e) const;
    // Evaluates every condition on `ev`'s payload and records the results in `ev`,
    // and reads the numbers (read_numbers).
    void evaluate(Event& ev, std::string& scratch) const;

    // The top-level members that window aggregates take as their argument (`avg(value)`:
    // "value"), each once, at most Event::kNumbers: read once per event here instead of
    // once per window rule. The index of `name`, or -1.
    int number_of(std::string_view name) const;
    size_t numbers() const { return numbers_.size(); }
    // Records in `ev` which of those members hold a number, and the numbers; sets
    // cond_plan to this plan (with no condition results: cond_known 0).
    void read_numbers(Event& ev) const;

private:
    struct RuleConditions {
        ExprPtr where;  // null: none, or one that reads more than the payload
        bool equality = false;  // where is `name == "text"` (Expr::string_equality)
        std::string_view name, text;
        std::vector<uint8_t> bits;  // the rule's stage conditions
    };
    std::vector<ExprPtr> exprs_;  // by bit
    std::vector<std::string_view> numbers_;  // member names, owned by the rules' expressions
    std::vector<RuleConditions> rules_;
};

}  // namespace vigil
