#pragma once
// Helpers shared by the expression tests: events from JSON text, a StageView
// over vectors of events, compile-and-evaluate in one call.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "rules/expr.h"

namespace vigil::test {

inline std::shared_ptr<Event> event(std::string_view json, int64_t time = 1000, std::string key = "k1") {
    auto e = std::make_shared<Event>();
    const std::string payload_text = std::string(json);
    std::string err;
    REQUIRE_MESSAGE(e->doc.parse(payload_text, &err), err);
    e->time = time;
    e->key = std::move(key);
    e->topic = "sensors/d1/temp";
    e->partition = 3;
    e->offset = 42;
    return e;
}

// The partial match of a pattern: stage i holds events[i], in arrival order.
class VectorStages : public StageView {
public:
    std::vector<std::vector<std::shared_ptr<Event>>> events;
    size_t stage_size(int stage) const override { return events.at(static_cast<size_t>(stage)).size(); }
    const Event* stage_event(int stage, size_t i) const override {
        return events.at(static_cast<size_t>(stage)).at(i).get();
    }
};

struct Compiled {
    ExprPtr expr;
    Diagnostics diags;
    std::string errors() const { return diags.to_string(); }
};

inline Compiled compile(std::string_view text, const ExprScope& scope = {}, SourcePos at = {"r.yaml", 3, 10}) {
    Compiled c;
    c.expr = Expr::compile(text, scope, at, c.diags);
    return c;
}

// A Value may point into its Expr (string literals): the last one compiled by
// eval() stays alive until the next call.
inline ExprPtr& last_expr() {
    static ExprPtr expr;
    return expr;
}

// Compiles (must succeed) and evaluates against `ev`.
inline Value eval(std::string_view text, const Event* ev, uint64_t* type_errors = nullptr,
                  std::string* scratch = nullptr) {
    Compiled c = compile(text);
    REQUIRE_MESSAGE(c.expr, text << ": " << c.errors());
    last_expr() = c.expr;
    EvalContext ctx;
    ctx.event = ev;
    ctx.type_errors = type_errors;
    ctx.scratch = scratch;
    return c.expr->eval(ctx);
}

// Expr::test (what conditions use), checked against eval()'s truthiness and type-error count.
inline bool test(std::string_view text, const Event* ev, uint64_t* type_errors = nullptr) {
    uint64_t eval_errors = 0;
    const bool truthy = eval(text, ev, &eval_errors).truthy();
    uint64_t test_errors = 0;
    EvalContext ctx;
    ctx.event = ev;
    ctx.type_errors = &test_errors;
    const bool result = last_expr()->test(ctx);
    CHECK_MESSAGE(result == truthy, text);
    CHECK_MESSAGE(test_errors == eval_errors, text);
    if (type_errors) *type_errors += test_errors;
    return result;
}

inline double num(std::string_view text, const Event* ev) {
    Value v = eval(text, ev);
    REQUIRE_MESSAGE(v.kind == Value::Kind::Number, text);
    return v.number;
}

inline std::string str(std::string_view text, const Event* ev) {
    std::string scratch;
    Value v = eval(text, ev, nullptr, &scratch);
    REQUIRE_MESSAGE(v.kind == Value::Kind::String, text);
    return std::string(v.str);
}

inline std::string json(std::string_view text, const Event* ev) {
    std::string out;
    std::string scratch;
    eval(text, ev, nullptr, &scratch).write_json(out);
    return out;
}

// The single error of a failed compile: "line:col: message".
inline std::string error_of(std::string_view text, const ExprScope& scope = {}) {
    Compiled c = compile(text, scope, {"r.yaml", 3, 10});
    if (c.expr) return "compiled";
    if (c.diags.error_count() != 1) return "errors: " + c.errors();
    for (const auto& d : c.diags.items()) {
        if (d.severity == Diagnostic::Severity::Error) {
            return std::to_string(d.pos.line) + ":" + std::to_string(d.pos.col) + ": " + d.message;
        }
    }
    return "?";
}

}  // namespace vigil::test
