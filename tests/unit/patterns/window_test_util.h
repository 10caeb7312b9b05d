#pragma once
// Helpers for the window and aggregate unit tests: hand-built rules, events and
// tiny expressions (a field getter, a threshold on an aggregate), so the window
// runtime is tested without the expression compiler or the YAML loader.
#include <memory>
#include <string>
#include <vector>

#include "patterns/window.h"
#include "rules/expr.h"
#include "rules/json.h"

namespace vigil::window_test {

// `name` of the event's payload (missing when absent).
class FieldExpr : public Expr {
public:
    explicit FieldExpr(std::string name) : name_(std::move(name)) { source_ = name_; }
    Value eval(const EvalContext& ctx) const override {
        if (!ctx.event) return Value::missing();
        JsonRef r = ctx.event->root()[name_];
        if (!r.valid()) return Value::missing();
        switch (r.type()) {
        case JsonType::Null: return Value::null();
        case JsonType::Bool: return Value::of(r.as_bool());
        case JsonType::Number: return Value::of(r.as_number());
        case JsonType::String: return Value::of(r.as_string());
        default: {
            Value v;
            v.kind = Value::Kind::Json;
            v.json = r;
            return v;
        }
        }
    }

private:
    std::string name_;
};

// vars[index] > threshold (false unless a number).
class VarAbove : public Expr {
public:
    VarAbove(size_t index, double threshold) : index_(index), threshold_(threshold) {}
    Value eval(const EvalContext& ctx) const override {
        const Value& v = ctx.vars[index_];
        return Value::of(v.kind == Value::Kind::Number && v.number > threshold_);
    }

private:
    size_t index_;
    double threshold_;
};

inline ExprPtr field(const std::string& name) { return std::make_shared<FieldExpr>(name); }

inline AggregateSpec agg(const std::string& name, const std::string& fn, ExprPtr arg = nullptr) {
    AggregateSpec a;
    a.name = name;
    a.function = fn;
    a.arg = std::move(arg);
    return a;
}

inline std::shared_ptr<Rule> window_rule(WindowType type, std::vector<AggregateSpec> aggs) {
    auto r = std::make_shared<Rule>();
    r->id = "w";
    r->version = "0000abcd";
    r->body = RuleBody::Window;
    r->window.type = type;
    r->window.aggregates = std::move(aggs);
    return r;
}

inline EventPtr event(const std::string& key, int64_t time, const std::string& json, uint64_t offset = 0) {
    auto e = std::make_shared<Event>();
    e->key = key;
    e->time = time;
    e->offset = offset;
    e->doc.parse(json);
    return e;
}

// Runs a rule over in-order events and watermarks, as the engine would.
struct Harness {
    explicit Harness(RulePtr rule) : rt(rule, clock) {}
    void ev(const std::string& key, int64_t t, const std::string& json) { rt.on_event(event(key, t, json, next++), sink); }
    bool late(const std::string& key, int64_t t, const std::string& json) {
        return rt.on_late_event(event(key, t, json, next++), sink);
    }
    void wm(int64_t w) { rt.on_watermark(w, sink); }
    std::vector<Alert>& alerts() { return sink.alerts; }

    ManualClock clock;
    WindowRuntime rt;
    VectorAlertSink sink;
    uint64_t next = 0;
};

}  // namespace vigil::window_test

namespace vigil::window_test {

// A member of an alert's values, parsed.
struct Values {
    explicit Values(const Alert& a) { doc.parse(a.values_json); }
    double num(const std::string& name) const { return doc.root()[name].as_number(); }
    bool is_null(const std::string& name) const { return doc.root()[name].is_null(); }
    std::string json(const std::string& name) const { return doc.root()[name].dump(); }
    JsonDoc doc;
};

}  // namespace vigil::window_test
