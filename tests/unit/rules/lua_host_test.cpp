// The Lua host: compile diagnostics, calls with each Value kind, and the sandbox.
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string>

#include "rules/json.h"
#include "rules/lua_host.h"

using namespace vigil;

namespace {

std::shared_ptr<LuaHost> compile(const std::string& src, Diagnostics& diags, LuaLimits limits = {}) {
    SourcePos at{"rules/r.yaml", 10, 5};
    return compile_lua(src, "rules/r.yaml", limits, at, diags);
}

std::shared_ptr<LuaHost> must_compile(const std::string& src, LuaLimits limits = {}) {
    Diagnostics diags;
    auto host = compile(src, diags, limits);
    INFO(diags.to_string());
    REQUIRE(host);
    return host;
}

// Runs `body` as the body of a function f() and returns the error it ended with.
std::string run_body(const std::string& body, LuaStatus* status_out = nullptr, double* seconds = nullptr) {
    auto host = must_compile("function f()\n" + body + "\nend\n");
    std::string scratch;
    auto t0 = std::chrono::steady_clock::now();
    Value v = host->call("f", nullptr, 0, scratch);
    auto t1 = std::chrono::steady_clock::now();
    if (seconds) *seconds = std::chrono::duration<double>(t1 - t0).count();
    CHECK(v.kind == Value::Kind::Missing);
    const auto& c = host->counters();
    if (status_out) {
        *status_out = c.cpu_overruns      ? LuaStatus::CpuOverrun
                      : c.memory_overruns ? LuaStatus::MemoryOverrun
                      : c.runtime_errors  ? LuaStatus::RuntimeError
                                          : LuaStatus::Ok;
    }
    return host->last_error();
}

}  // namespace

TEST_CASE("lua host: calls convert each Value kind both ways") {
    auto host = must_compile(R"(
function kind(x) return type(x) end
function echo(x) return x end
function add(a, b) return a + b end
function field(o) return o.inner.n * 2 end
function count(a) return #a end
function nothing() end
)");
    std::string scratch;
    Value num = Value::of(2.5), str = Value::of(std::string_view("hi")), yes = Value::of(true);
    Value nul = Value::null(), miss = Value::missing();
    CHECK(host->call("kind", &num, 1, scratch).str == "number");
    CHECK(host->call("kind", &str, 1, scratch).str == "string");
    CHECK(host->call("kind", &yes, 1, scratch).str == "boolean");
    CHECK(host->call("kind", &nul, 1, scratch).str == "nil");
    CHECK(host->call("kind", &miss, 1, scratch).str == "nil");
    CHECK(host->call("echo", &num, 1, scratch).number == 2.5);
    CHECK(host->call("echo", &str, 1, scratch).str == "hi");
    Value b = host->call("echo", &yes, 1, scratch);
    CHECK(b.kind == Value::Kind::Bool);
    CHECK(b.boolean);
    CHECK(host->call("echo", &nul, 1, scratch).kind == Value::Kind::Null);
    Value two[2] = {Value::of(1.0), Value::of(41.0)};
    CHECK(host->call("add", two, 2, scratch).number == 42);
    JsonDoc doc;
    REQUIRE(doc.parse(R"({"inner": {"n": 21}, "list": [1, 2, 3]})"));
    Value obj;
    obj.kind = Value::Kind::Json;
    obj.json = doc.root();
    CHECK(host->call("field", &obj, 1, scratch).number == 42);
    Value arr;
    arr.kind = Value::Kind::Json;
    arr.json = doc.root()["list"];
    CHECK(host->call("count", &arr, 1, scratch).number == 3);
    CHECK(host->call("nothing", nullptr, 0, scratch).kind == Value::Kind::Null);
    CHECK(host->has_function("echo"));
    CHECK_FALSE(host->has_function("missing_fn"));
    CHECK(host->call("missing_fn", nullptr, 0, scratch).kind == Value::Kind::Missing);
    CHECK(host->counters().runtime_errors == 1);
}

TEST_CASE("lua host: the predicate of the benchmark") {
    auto host = must_compile("function f(a, b, c, d) return a > 10 and b == 'x' end");
    std::string scratch;
    Value args[4] = {Value::of(11.0), Value::of(std::string_view("x")), Value::of(true), Value::null()};
    Value t = host->call("f", args, 4, scratch);
    CHECK(t.kind == Value::Kind::Bool);
    CHECK(t.boolean);
    args[0] = Value::of(3.0);
    Value r = host->call("f", args, 4, scratch);
    CHECK(r.kind == Value::Kind::Bool);
    CHECK_FALSE(r.boolean);
}

TEST_CASE("lua host: compile errors point at the file line of the lua block") {
    Diagnostics diags;
    CHECK_FALSE(compile("function f()\n  return 1 +\nend\n", diags));
    REQUIRE(diags.error_count() == 1);
    std::string text = diags.to_string();
    INFO(text);
    // chunk line 3 of a block whose first line is file line 10
    CHECK(text.find("rules/r.yaml:12:5: error: lua: ") == 0);
    CHECK(text.find("unexpected symbol near 'end'") != std::string::npos);

    Diagnostics d2;
    CHECK_FALSE(compile("local x = 1\nerror('top level boom')\n", d2));
    CHECK(d2.to_string().find("rules/r.yaml:11:5: error: lua: top level boom") == 0);

    Diagnostics d3;
    CHECK_FALSE(compile("while true do end\n", d3));
    CHECK(d3.to_string().find("cpu budget exceeded") != std::string::npos);

    Diagnostics d4;
    CHECK_FALSE(compile(std::string("\x1bLua\x54\x00", 6), d4));
    CHECK(d4.to_string().find("binary chunk") != std::string::npos);
}

TEST_CASE("lua host: runtime errors name the file line") {
    auto host = must_compile("function f()\n  error('boom')\nend\n");
    std::string scratch;
    CHECK(host->call("f", nullptr, 0, scratch).kind == Value::Kind::Missing);
    CHECK(host->last_error() == "lua: rules/r.yaml:11: boom");
    CHECK(host->counters().runtime_errors == 1);
    CHECK_FALSE(host->disabled());
}

TEST_CASE("lua sandbox: escapes are stopped with a clear error") {
    CHECK(run_body("os.execute('true')").find("global 'os'") != std::string::npos);
    CHECK(run_body("return io.open('/etc/passwd')").find("global 'io'") != std::string::npos);
    CHECK(run_body("return load('return 1')").find("global 'load'") != std::string::npos);
    CHECK(run_body("return loadstring('return 1')").find("global 'loadstring'") != std::string::npos);
    CHECK(run_body("return dofile('/etc/passwd')").find("global 'dofile'") != std::string::npos);
    CHECK(run_body("return loadfile('/etc/passwd')").find("global 'loadfile'") != std::string::npos);
    CHECK(run_body("return require('os')").find("global 'require'") != std::string::npos);
    CHECK(run_body("return package.loaded").find("global 'package'") != std::string::npos);
    CHECK(run_body("return debug.getinfo(1)").find("global 'debug'") != std::string::npos);
    CHECK(run_body("return collectgarbage('count')").find("global 'collectgarbage'") != std::string::npos);
    CHECK(run_body("return math.random()").find("field 'random'") != std::string::npos);
    CHECK(run_body("return string.dump(f)").find("field 'dump'") != std::string::npos);
    CHECK(run_body("local co = coroutine.wrap(function() while true do coroutine.yield() end end) co()")
              .find("global 'coroutine'") != std::string::npos);
}

TEST_CASE("lua sandbox: the string metatable and library tables cannot be changed") {
    CHECK(run_body("getmetatable('').__index = {}").find("index a boolean value") != std::string::npos);
    CHECK(run_body("getmetatable('').__index.upper = nil").find("index a boolean value") != std::string::npos);
    CHECK(run_body("setmetatable('', {})").find("table expected, got string") != std::string::npos);
    CHECK(run_body("string.find = function() return 1 end").find("library table 'string' is read-only") !=
          std::string::npos);
    CHECK(run_body("math.floor = nil").find("library table 'math' is read-only") != std::string::npos);
    CHECK(run_body("setmetatable(string, nil)").find("cannot change a protected metatable") != std::string::npos);
    CHECK(run_body("setmetatable({}, {__gc = function() end})").find("__gc metamethods are not allowed") !=
          std::string::npos);
    // the guarded functions stay in place through the method syntax too
    CHECK(run_body("return ('a'):rep(1e9)").find("string.rep: result of") != std::string::npos);
}

TEST_CASE("lua sandbox: string.rep bombs are refused before allocating") {
    double secs = 0;
    CHECK(run_body("return string.rep('x', 1e12)", nullptr, &secs).find("string.rep: result of 1000000000000 bytes") !=
          std::string::npos);
    CHECK(secs < 0.5);
    CHECK(run_body("return string.rep('ab', 1e6, ',')").find("exceeds the limit") != std::string::npos);
    auto host = must_compile("function f() return #string.rep('ab', 1000, ',') end");
    std::string scratch;
    CHECK(host->call("f", nullptr, 0, scratch).number == 2999);
}

TEST_CASE("lua sandbox: memory bombs hit the memory cap") {
    LuaStatus st{};
    std::string err = run_body("local t = {} for i = 1, 1e7 do t[i] = ('x'):rep(1000) .. i end", &st);
    CHECK(st == LuaStatus::MemoryOverrun);
    CHECK(err.find("memory cap exceeded") != std::string::npos);
    err = run_body("local t = {} local s = 'x' for i = 1, 40 do s = s .. s; t[i] = s end", &st);
    CHECK(st == LuaStatus::MemoryOverrun);
}

TEST_CASE("lua sandbox: infinite loops and recursion are stopped quickly") {
    LuaStatus st{};
    double secs = 0;
    std::string err = run_body("while true do end", &st, &secs);
    CHECK(st == LuaStatus::CpuOverrun);
    CHECK(err == "lua: cpu budget exceeded (1000000 instructions)");
    CHECK(secs < 1.0);
    // a script cannot swallow the budget error with pcall
    err = run_body("while true do pcall(function() while true do end end) end", &st, &secs);
    CHECK(st == LuaStatus::CpuOverrun);
    CHECK(secs < 1.0);
    err = run_body("while true do pcall(error, 'x') end", &st, &secs);
    CHECK(st == LuaStatus::CpuOverrun);
    // unbounded recursion ends in an error (stack overflow, memory or cpu), fast
    err = run_body("local function r(n) return 1 + r(n + 1) end return r(1)", &st, &secs);
    CHECK(st != LuaStatus::Ok);
    CHECK(secs < 1.0);
    err = run_body("local function r(n) return select('#', string.gsub('a', 'a', r)) end return r(1)", &st, &secs);
    CHECK(st != LuaStatus::Ok);
    CHECK(secs < 1.0);
}

TEST_CASE("lua sandbox: catastrophic patterns are refused instead of running for seconds") {
    // Unguarded, this find backtracks 2^24 times (about 2 s in Lua 5.4).
    const char* cases[] = {
        "return string.find(('a'):rep(24), ('a?'):rep(24) .. ('a'):rep(24))",
        "return string.match(('a'):rep(5000), ('a*'):rep(6) .. 'b')",
        "for w in string.gmatch(('a'):rep(20000), 'a*a*a*b') do end",
        "return string.gsub(('1'):rep(60000), '%d+%.%d+', '')",
    };
    for (std::string body : cases) {
        double secs = 0;
        std::string err = run_body(body, nullptr, &secs);
        INFO(body);
        CHECK(err.find("pattern too complex") != std::string::npos);
        CHECK(secs < 1.0);
    }
    CHECK(run_body("return string.find(('a'):rep(100000), 'b', 1, true)").find("subject of 100000 bytes") !=
          std::string::npos);
    CHECK(run_body("return string.find('a', ('a'):rep(300))").find("pattern of 300 bytes") != std::string::npos);
    // ordinary patterns on ordinary input still work
    auto host = must_compile(R"(
function f(s) local k, v = string.match(s, "^(%w+)=(%w+)$") return k .. ":" .. v end
function g(s) local n = 0 for w in s:gmatch("%a+") do n = n + 1 end return n end
function h(s) return (s:gsub("%s+", " ")) end
function p(s) return s:find("needle", 1, true) end)");
    std::string scratch;
    Value kv = Value::of(std::string_view("temp=93"));
    CHECK(host->call("f", &kv, 1, scratch).str == "temp:93");
    Value words = Value::of(std::string_view("the quick brown fox"));
    CHECK(host->call("g", &words, 1, scratch).number == 4);
    Value spaced = Value::of(std::string_view("a   b \t c"));
    CHECK(host->call("h", &spaced, 1, scratch).str == "a b c");
    Value hay = Value::of(std::string_view("haystack with a needle"));
    CHECK(host->call("p", &hay, 1, scratch).number == 17);
}

TEST_CASE("lua host: disabled after K consecutive overruns, a success resets the run") {
    LuaLimits limits;
    limits.instructions = 100000;
    limits.max_consecutive_overruns = 3;
    auto host = must_compile("function spin(n) if n > 0 then while true do end end return 1 end", limits);
    std::string scratch;
    Value yes = Value::of(1.0), no = Value::of(0.0);
    host->call("spin", &yes, 1, scratch);
    host->call("spin", &yes, 1, scratch);
    CHECK(host->counters().consecutive_overruns == 2);
    CHECK(host->call("spin", &no, 1, scratch).number == 1);
    CHECK(host->counters().consecutive_overruns == 0);
    for (int i = 0; i < 3; ++i) host->call("spin", &yes, 1, scratch);
    CHECK(host->disabled());
    CHECK(host->counters().cpu_overruns == 5);
    uint64_t calls = host->counters().calls;
    CHECK(host->call("spin", &no, 1, scratch).kind == Value::Kind::Missing);
    CHECK(host->counters().calls == calls);
}

TEST_CASE("lua host: log is rate limited, global writes are counted") {
    auto level = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
    auto host = must_compile("function f() for i = 1, 100 do log('line', i, true) end newglobal = 1 end");
    std::string scratch;
    host->call("f", nullptr, 0, scratch);
    spdlog::set_level(level);
    CHECK(host->last_error().empty());
    CHECK(host->counters().logs_dropped >= 70);
    CHECK(host->counters().logs_dropped < 100);
    CHECK(host->counters().global_writes == 1);
}

TEST_CASE("lua host: clones are independent states") {
    auto host = must_compile("n = 0\nfunction bump() n = n + 1 return n end");
    auto other = host->clone();
    REQUIRE(other);
    std::string scratch;
    host->call("bump", nullptr, 0, scratch);
    CHECK(host->call("bump", nullptr, 0, scratch).number == 2);
    CHECK(other->call("bump", nullptr, 0, scratch).number == 1);
}

TEST_CASE("lua sandbox: the allowed libraries work") {
    auto host = must_compile(R"(
function f()
  local t = {5, 3, 9, 1}
  table.sort(t)
  local parts = {}
  for _, v in ipairs(t) do parts[#parts + 1] = tostring(v) end
  return table.concat(parts, ",") .. "|" .. utf8.char(233) .. "|" .. string.format("%.1f", math.sqrt(2)) ..
         "|" .. math.type(3) .. "|" .. select("#", 1, 2, 3) .. "|" .. tostring(pcall(error, "x"))
end)");
    std::string scratch;
    CHECK(host->call("f", nullptr, 0, scratch).str == "1,3,5,9|\xc3\xa9|1.4|integer|3|false");
    CHECK(host->memory_used() > 0);
    CHECK(host->memory_used() < host->limits().memory_bytes);
}

TEST_CASE("lua sandbox: Lua callbacks inside C functions stay under the budget") {
    LuaStatus st{};
    double secs = 0;
    run_body("return string.gsub(('a'):rep(100), 'a', function() while true do end end)", &st, &secs);
    CHECK(st == LuaStatus::CpuOverrun);
    CHECK(secs < 1.0);
    run_body("local t = {} for i = 1, 100 do t[i] = i end table.sort(t, function(a, b) while true do end end)", &st,
             &secs);
    CHECK(st == LuaStatus::CpuOverrun);
    CHECK(secs < 1.0);
}
