#pragma once
// Test helpers for the pattern engine: hand-built rules, events, and tiny
// expressions (the real expression compiler lives in rules/ and is not linked
// into unit_patterns).
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "patterns/alert.h"
#include "patterns/nfa.h"
#include "patterns/runtime.h"
#include "rules/rule.h"

namespace vigil::nfa_test {

// `field == "text"`
class FieldIs : public Expr {
public:
    FieldIs(std::string field, std::string value) : field_(std::move(field)), value_(std::move(value)) {
        source_ = field_ + " == \"" + value_ + "\"";
    }
    Value eval(const EvalContext& ctx) const override {
        JsonRef v = ctx.event->root()[field_];
        return Value::of(v.is_string() && v.as_string() == value_);
    }

private:
    std::string field_, value_;
};

// `field < limit` (less = true) or `field > limit`
class FieldCmp : public Expr {
public:
    FieldCmp(std::string field, double limit, bool less) : field_(std::move(field)), limit_(limit), less_(less) {}
    Value eval(const EvalContext& ctx) const override {
        JsonRef v = ctx.event->root()[field_];
        if (!v.is_number()) return Value::of(false);
        return Value::of(less_ ? v.as_number() < limit_ : v.as_number() > limit_);
    }

private:
    std::string field_;
    double limit_;
    bool less_;
};

// `type == T && field != stage[0].field`: reads an earlier stage through the StageView.
class DiffersFromStage : public Expr {
public:
    DiffersFromStage(std::string type, std::string field, int stage)
        : type_(std::move(type)), field_(std::move(field)), stage_(stage) {}
    Value eval(const EvalContext& ctx) const override {
        JsonRef t = ctx.event->root()["type"];
        if (!t.is_string() || t.as_string() != type_) return Value::of(false);
        if (!ctx.stages || ctx.stages->stage_size(stage_) == 0) return Value::of(false);
        JsonRef mine = ctx.event->root()[field_];
        JsonRef theirs = ctx.stages->stage_event(stage_, 0)->root()[field_];
        return Value::of(mine.as_string() != theirs.as_string());
    }

private:
    std::string type_, field_;
    int stage_;
};

// `type == T && sum(self.amount) + amount < limit` inside a looping stage.
class RunningSumBelow : public Expr {
public:
    RunningSumBelow(std::string type, int self, double limit) : type_(std::move(type)), self_(self), limit_(limit) {}
    Value eval(const EvalContext& ctx) const override {
        JsonRef t = ctx.event->root()["type"];
        if (!t.is_string() || t.as_string() != type_) return Value::of(false);
        double sum = ctx.event->root()["amount"].as_number();
        for (size_t i = 0; i < ctx.stages->stage_size(self_); ++i)
            sum += ctx.stages->stage_event(self_, i)->root()["amount"].as_number();
        return Value::of(sum < limit_);
    }

private:
    std::string type_;
    int self_;
    double limit_;
};

inline ExprPtr is(const std::string& type) { return std::make_shared<FieldIs>("type", type); }

struct StageOpts {
    std::string name = {};
    std::string type = {};  // where: type == name's letter unless set
    Contiguity contiguity = Contiguity::Relaxed;
    uint32_t min = 1, max = 1;
    Contiguity inner = Contiguity::Relaxed;
    bool optional = false, greedy = false, negated = false;
    ExprPtr where = nullptr, until = nullptr;
};

inline StageSpec stage(const StageOpts& o) {
    StageSpec s;
    s.name = o.name;
    s.where = o.where ? o.where : is(o.type.empty() ? o.name : o.type);
    s.contiguity = o.contiguity;
    s.min_times = o.min;
    s.max_times = o.max;
    s.inner = o.inner;
    s.optional = o.optional;
    s.greedy = o.greedy;
    s.negated = o.negated;
    s.until = o.until;
    return s;
}

inline std::shared_ptr<Rule> pattern_rule(std::vector<StageSpec> stages, const std::string& id = "r") {
    auto r = std::make_shared<Rule>();
    r->id = id;
    r->version = "00000001";
    r->body = RuleBody::Pattern;
    r->pattern.stages = std::move(stages);
    return r;
}

// An event {"type": type, "id": id, ...extra} of key `key` at `time`.
inline EventPtr event(const std::string& type, int64_t time, const std::string& id, const std::string& key = "k",
                      const std::string& extra = "", uint64_t offset = 0) {
    auto e = std::make_shared<Event>();
    e->time = time;
    e->key = key;
    e->stream = "s";
    e->offset = offset;
    const std::string payload_text = "{\"type\":\"" + type + "\",\"id\":\"" + id + "\",\"key\":\"" + key + "\"" +
                 (extra.empty() ? "" : "," + extra) + ",\"ts\":" + std::to_string(time) + "}";
    e->doc.parse(payload_text);
    return e;
}

// The ids of an alert's events, "a1 a2 b1" in stage order.
inline std::string ids(const Alert& a) {
    std::string s;
    for (const auto& [stage, evs] : a.events)
        for (const auto& e : evs) {
            if (!s.empty()) s += ' ';
            s += std::string(e->root()["id"].as_string());
        }
    return s;
}

inline std::vector<std::string> all_ids(const std::vector<Alert>& alerts, const std::string& kind = "match") {
    std::vector<std::string> out;
    for (const auto& a : alerts)
        if (a.kind == kind) out.push_back(ids(a));
    return out;
}

// Runs events through one pattern runtime: one event per tick, then flush.
struct Harness {
    explicit Harness(std::shared_ptr<Rule> r) : rule(std::move(r)), rt(rule, clock) {}
    void push(const EventPtr& e) {
        rt.on_watermark(e->time, sink);
        rt.on_event(e, sink);
    }
    // "a1 b1 c" style: type = first letter, id = the token, times 1, 2, 3, ...
    void run(const std::string& tokens, bool flush = true) {
        size_t i = 0;
        while (i < tokens.size()) {
            size_t end = tokens.find(' ', i);
            if (end == std::string::npos) end = tokens.size();
            std::string tok = tokens.substr(i, end - i);
            if (!tok.empty()) push(event(tok.substr(0, 1), ++t, tok));
            i = end + 1;
        }
        if (flush) rt.on_watermark(INT64_MAX, sink);
    }
    std::vector<std::string> matches() const { return all_ids(sink.alerts); }

    std::shared_ptr<Rule> rule;
    ManualClock clock;
    PatternRuntime rt;
    VectorAlertSink sink;
    int64_t t = 0;
};

}  // namespace vigil::nfa_test
