// libFuzzer target: Expr::compile on arbitrary bytes, then evaluation of what
// compiled against a fixed event, partial match and window values.
// The first byte picks the scope (plain, pattern, window, with Lua); the rest is
// the expression. Compile must never crash or throw; eval must never crash, and
// test() must give eval()'s truthiness.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rules/expr.h"
#include "rules/lua_host.h"

using namespace vigil;

namespace {

class FuzzLua : public LuaProgram {
public:
    bool has_function(std::string_view name) const override { return name == "f" || name == "s"; }
    Value call(std::string_view name, const Value* args, size_t nargs, std::string& scratch) override {
        if (name == "f") return Value::of(static_cast<double>(nargs));
        size_t off = scratch.size();
        for (size_t i = 0; i < nargs; ++i) args[i].write_json(scratch);
        return Value::of(std::string_view(scratch).substr(off));
    }
};

class Stages : public StageView {
public:
    explicit Stages(const Event* evs) : evs_(evs) {}
    size_t stage_size(int stage) const override { return static_cast<size_t>(stage) % 3 + 1; }
    const Event* stage_event(int, size_t i) const override { return &evs_[i % 2]; }

private:
    const Event* evs_;
};

struct Fixture {
    Event events[2];
    FuzzLua lua;
    Value vars[2] = {Value::of(3.5), Value::of(std::string_view("v"))};
    Fixture() {
        const char* payloads[2] = {
            R"({"temp":91.5,"name":"Pump-7","a":{"b":[1,2,{"c":"x"}]},"items":[10,20],"nil":null,"on":true,"s":""})",
            R"({"temp":-1,"name":"p","a":{"b":"str"},"items":[],"amount":1e300})"};
        for (int i = 0; i < 2; ++i) {
            events[i].doc.parse(payloads[i]);
            events[i].time = 1700000000000 + i;
            events[i].key = "k";
            events[i].topic = "t/1";
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Fixture fx;
    if (size == 0) return 0;
    ExprScope scope;
    switch (data[0] % 4) {
    case 1:
        scope.stages = {"first", "small", "big"};
        scope.self_stage = data[0] / 4 % 4 - 1;
        break;
    case 2:
        scope.vars = {"n", "who"};
        scope.has_event = data[0] / 4 % 2 == 0;
        break;
    case 3: scope.lua = &fx.lua; break;
    default: break;
    }
    std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    Diagnostics diags;
    auto e = Expr::compile(text, scope, SourcePos{"fuzz", 1, 1}, diags);
    if (!e) {
        if (!diags.has_errors()) __builtin_trap();  // a failed compile must say why
        return 0;
    }
    Stages stages(fx.events);
    std::string scratch;
    uint64_t type_errors = 0;
    EvalContext ctx;
    ctx.event = &fx.events[0];
    ctx.stages = &stages;
    ctx.vars = fx.vars;
    ctx.lua = &fx.lua;
    ctx.scratch = &scratch;
    ctx.type_errors = &type_errors;
    std::string out;
    e->eval(ctx).write_json(out);
    if (e->test(ctx) != e->eval(ctx).truthy()) __builtin_trap();  // test() is eval's truthiness
    ctx.event = nullptr;  // a window's having: no event
    ctx.scratch = nullptr;
    e->eval(ctx).write_json(out);
    if (e->test(ctx) != e->eval(ctx).truthy()) __builtin_trap();
    return 0;
}
