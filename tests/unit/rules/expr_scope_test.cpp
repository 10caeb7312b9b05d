// Names that come from the rule rather than the event: pattern stages and their
// aggregates, window aggregates (vars), and calls into the rule's Lua.
#include <map>

#include "expr_test_util.h"
#include "rules/lua_host.h"

namespace vigil::test {

namespace {

ExprScope pattern_scope(int self) {
    ExprScope s;
    s.stages = {"first", "small", "big"};
    s.self_stage = self;
    return s;
}

struct Match {
    VectorStages stages;
    std::shared_ptr<Event> current;
    Match() {
        stages.events.resize(3);
        stages.events[0].push_back(event(R"({"amount": 1000, "merchant": "m0"})", 100));
        stages.events[1].push_back(event(R"({"amount": 1.5, "merchant": "m1"})", 200));
        stages.events[1].push_back(event(R"({"amount": 0.5, "merchant": "m2"})", 300));
        stages.events[1].push_back(event(R"({"amount": 1.0, "merchant": "m3", "note": "x"})", 400));
        current = event(R"({"amount": 900, "merchant": "m9"})", 500);
    }
    Value eval(std::string_view text, int self = 2) {
        Compiled c = compile(text, pattern_scope(self));
        REQUIRE_MESSAGE(c.expr, text << ": " << c.errors());
        EvalContext ctx;
        ctx.event = current.get();
        ctx.stages = &stages;
        return c.expr->eval(ctx);
    }
    double num(std::string_view text, int self = 2) {
        Value v = eval(text, self);
        REQUIRE_MESSAGE(v.kind == Value::Kind::Number, text);
        return v.number;
    }
};

}  // namespace

TEST_CASE("expr: stage references") {
    Match m;
    CHECK(m.num("first.amount") == 1000);
    CHECK(m.num("small[0].amount") == 1.5);
    CHECK(m.num("small[1].amount") == 0.5);
    CHECK(m.num("small[-1].amount") == 1.0);
    CHECK(m.num("small[-3].amount") == 1.5);
    CHECK(m.num("small.amount") == 1.0);  // a looping stage's last event
    CHECK(m.eval("small[3].amount").kind == Value::Kind::Missing);
    CHECK(m.eval("small[-4].amount").kind == Value::Kind::Missing);
    CHECK(m.eval("small[0].note").kind == Value::Kind::Missing);
    CHECK(m.num("amount") == 900);  // not a stage: the current event
    CHECK(m.num("small[1].$time") == 300);
    CHECK(m.num("$time - first.$time") == 400);
    CHECK(m.eval("small[0]").kind == Value::Kind::Json);
    CHECK(m.eval("amount > 500 && merchant != small[0].merchant").truthy());
    CHECK_FALSE(m.eval("merchant == small[0].merchant").truthy());
    CHECK(m.eval("big.amount").kind == Value::Kind::Missing);  // its own stage, nothing accepted yet
}

TEST_CASE("expr: stage aggregates") {
    Match m;
    CHECK(m.num("sum(small.amount)") == 3.0);
    CHECK(m.num("count(small)") == 3);
    CHECK(m.num("count(small.note)") == 1);
    CHECK(m.num("avg(small.amount)") == 1.0);
    CHECK(m.num("min(small.amount)") == 0.5);
    CHECK(m.num("max(small.amount)") == 1.5);
    CHECK(m.num("max(small.$time)") == 400);
    CHECK(m.num("min(first.amount, 5)") == 5);  // two arguments: the scalar min
    CHECK(m.num("sum(big.amount)") == 0);
    CHECK(m.num("count(big)") == 0);
    CHECK(m.eval("avg(big.amount)").kind == Value::Kind::Missing);
    CHECK(m.eval("max(big.amount)").kind == Value::Kind::Missing);
    CHECK_FALSE(m.eval("avg(big.amount) < 10").truthy());
}

TEST_CASE("expr: a looping stage's own where sees the events accepted so far") {
    Match m;
    m.current = event(R"({"amount": 95})");
    CHECK(m.eval("sum(small.amount) + amount < 100", 1).truthy());
    m.current = event(R"({"amount": 97})");
    CHECK_FALSE(m.eval("sum(small.amount) + amount < 100", 1).truthy());
    m.stages.events[1].clear();  // nothing accepted yet: the sum is 0, not missing
    CHECK(m.eval("sum(small.amount) + amount < 100", 1).truthy());
    CHECK(m.eval("count(small) == 0", 1).truthy());
}

TEST_CASE("expr: stage references need the stage view") {
    Compiled c = compile("count(small) == 0 && !exists(first.amount)", pattern_scope(1));
    REQUIRE(c.expr);
    EvalContext ctx;  // no StageView: stages look empty
    CHECK(c.expr->test(ctx));
}

TEST_CASE("expr: window vars") {
    ExprScope s;
    s.vars = {"avg_t", "n", "who"};
    s.has_event = false;
    Compiled c = compile("avg_t > 90 && n >= 10", s);
    REQUIRE_MESSAGE(c.expr, c.errors());
    Value vars[3] = {Value::of(91.0), Value::of(12.0), Value::of(std::string_view("d1"))};
    EvalContext ctx;
    ctx.vars = vars;
    CHECK(c.expr->test(ctx));
    vars[1] = Value::of(9.0);
    CHECK_FALSE(c.expr->test(ctx));
    vars[1] = Value::missing();
    CHECK_FALSE(c.expr->test(ctx));

    std::string scratch;
    ctx.scratch = &scratch;
    Compiled p = compile("who + \":\" + upper(who)", s);
    REQUIRE(p.expr);
    CHECK(p.expr->eval(ctx).str == "d1:D1");

    // With an event as well (a window payload may read the last event's fields).
    ExprScope both;
    both.vars = {"n"};
    Compiled q = compile("n + temp", both);
    REQUIRE(q.expr);
    auto ev = event(R"({"temp": 2})");
    Value one[1] = {Value::of(40.0)};
    EvalContext c2;
    c2.vars = one;
    c2.event = ev.get();
    CHECK(q.expr->eval(c2).number == 42);
}

namespace {
// Test double for the expression-to-Lua bridge only: the real host is rules/lua_host.
class FakeLua : public LuaProgram {
public:
    std::vector<std::string> calls;
    bool has_function(std::string_view name) const override { return name == "add" || name == "tag"; }
    Value call(std::string_view name, const Value* args, size_t nargs, std::string& scratch) override {
        std::string c(name);
        for (size_t i = 0; i < nargs; ++i) {
            c += i ? "," : "(";
            args[i].write_json(c);
        }
        calls.push_back(c + ")");
        if (name == "add") return Value::of(args[0].number + args[1].number);
        // A string result lives in scratch, as the real host does.
        size_t off = scratch.size();
        scratch += "tag-";
        scratch.append(args[0].str);
        return Value::of(std::string_view(scratch).substr(off));
    }
};
}  // namespace

TEST_CASE("expr: lua calls") {
    FakeLua lua;
    ExprScope s;
    s.lua = &lua;
    auto ev = event(R"({"a": 2, "b": 3, "name": "x"})");
    std::string scratch;
    EvalContext ctx;
    ctx.event = ev.get();
    ctx.lua = &lua;
    ctx.scratch = &scratch;

    Compiled c = compile("lua.add(a, b * 2) == 8", s);
    REQUIRE_MESSAGE(c.expr, c.errors());
    CHECK(c.expr->test(ctx));
    REQUIRE(lua.calls.size() == 1);
    CHECK(lua.calls[0] == "add(2,6)");

    Compiled t = compile("upper(lua.tag(name + \"!\")) + \"/\" + lua.tag(\"y\")", s);
    REQUIRE_MESSAGE(t.expr, t.errors());
    Value v = t.expr->eval(ctx);
    CHECK(v.str == "TAG-X!/tag-y");
    CHECK(lua.calls[1] == "tag(\"x!\")");

    ctx.lua = nullptr;  // no program at run time: missing, never a crash
    CHECK_FALSE(c.expr->test(ctx));
}

}  // namespace vigil::test
