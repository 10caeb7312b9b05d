// Lookahead (patterns/engine.h): events reach the engine a few events late, each
// announced to the thread's table lookup first (prefetch), in order; drain() gives
// the rest. With no rule reading a table, events go straight through.
#include <doctest/doctest.h>

#include "nfa_support.h"
#include "patterns/engine.h"
#include "rules/expr_program.h"  // PathSeg, as TableView reads it
#include "rules/table_lookup.h"

using namespace vigil;
using namespace vigil::nfa_test;
using V = std::vector<std::string>;

namespace {

// Every row missing; records the prefetch hints as "table/key.path".
class Hints final : public TableLookup {
public:
    JsonRef lookup(std::string_view, std::string_view, int64_t) const override { return {}; }
    void prefetch(std::string_view table, std::string_view key, const expr::PathSeg* segs, uint32_t nsegs,
                  uint64_t) const override {
        std::string h = std::string(table) + "/" + std::string(key);
        for (uint32_t i = 0; i < nsegs; ++i) h += "." + segs[i].key;
        log.push_back(h);
    }
    mutable V log;
};

ExprPtr compile(const std::string& text) {
    ExprScope scope;
    scope.stages = {"a"};
    scope.self_stage = 0;
    Diagnostics diags;
    ExprPtr x = Expr::compile(text, scope, SourcePos{}, diags);
    REQUIRE_MESSAGE(x, diags.to_string());
    return x;
}

struct Fixture {
    explicit Fixture(const std::string& where) : scope(&hints) {
        auto r = pattern_rule({stage({.name = "a", .where = compile(where)})});
        r->stream = "s";
        auto set = std::make_shared<RuleSet>();
        set->rules.push_back(r);
        StreamSpec s;
        s.name = "s";
        engine = std::make_unique<PartitionEngine>(set, std::vector<StreamSpec>{s}, clock, sink);
    }
    // The caller's push: records the event's id, then gives it to the engine.
    void give(EventPtr ev) {
        given.push_back(std::string(ev->root()["id"].as_string()));
        engine->push(std::move(ev));
    }
    V ids() const {
        V out;
        for (const auto& a : sink.alerts) out.push_back(nfa_test::ids(a));
        return out;
    }
    Hints hints;
    TableScope scope;
    ManualClock clock;
    VectorAlertSink sink;
    std::unique_ptr<PartitionEngine> engine;
    V given;
};

}  // namespace

TEST_CASE("lookahead: each event is prefetched when pushed and reaches the engine 8 events later, in order") {
    Fixture f(R"(type == "a" || table("devices", key).t > 1 || table("models", n).limits.max > 1)");
    CHECK(f.engine->reads_tables());
    Lookahead ahead(*f.engine);
    auto give = [&](EventPtr ev) { f.give(std::move(ev)); };
    V& given = f.given;
    V expect_hints;
    for (int i = 1; i <= 12; ++i) {
        ahead.push(event("a", i, "e" + std::to_string(i), "k" + std::to_string(i), "\"n\":" + std::to_string(i)),
                   give);
        expect_hints.push_back("devices/k" + std::to_string(i) + ".t");
        expect_hints.push_back("models/" + std::to_string(i) + ".limits.max");  // a number key as table() reads it
        CHECK(f.hints.log == expect_hints);
        CHECK(given.size() == size_t(std::max(0, i - int(Lookahead::kDepth))));
    }
    CHECK(given == V{"e1", "e2", "e3", "e4"});
    ahead.drain(give);
    CHECK(given == V{"e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9", "e10", "e11", "e12"});
    CHECK(f.ids() == given);  // the engine saw them in push order
    ahead.drain(give);        // empty: nothing more
    CHECK(given.size() == 12);
}

TEST_CASE("lookahead: $key is prefetched, a key that is neither string nor number is not") {
    Fixture f(R"(table("accounts", $key).limit > 0 || table("devices", missing).t > 0)");
    Lookahead ahead(*f.engine);
    auto give = [&](EventPtr ev) { f.give(std::move(ev)); };
    ahead.push(event("a", 1, "e1", "acct-9"), give);
    CHECK(f.hints.log == V{"accounts/acct-9.limit"});
    ahead.drain(give);
    CHECK(f.given == V{"e1"});
}

TEST_CASE("lookahead: with no rule reading a table, events go straight through, unannounced") {
    Fixture f(R"(type == "a" || table("devices", "fixed").t > 1)");  // a literal key: nothing to read ahead
    CHECK_FALSE(f.engine->reads_tables());
    Lookahead ahead(*f.engine);
    auto give = [&](EventPtr ev) { f.give(std::move(ev)); };
    ahead.push(event("a", 1, "e1"), give);
    ahead.push(event("a", 2, "e2"), give);
    CHECK(f.given == V{"e1", "e2"});
    CHECK(f.ids() == V{"e1", "e2"});
    CHECK(f.hints.log.empty());
}

TEST_CASE("lookahead: rules swapped while events are held keep the order of events") {
    Fixture f(R"(type == "a" || table("devices", key).t > 1)");
    Lookahead ahead(*f.engine);
    auto give = [&](EventPtr ev) { f.give(std::move(ev)); };
    ahead.push(event("a", 1, "e1"), give);
    ahead.push(event("a", 2, "e2"), give);
    auto plain = pattern_rule({stage({.name = "a"})});
    plain->stream = "s";
    plain->version = "00000002";  // a changed rule: the swap replaces it
    auto set = std::make_shared<RuleSet>();
    set->rules.push_back(plain);
    f.engine->swap_rules(set);
    CHECK_FALSE(f.engine->reads_tables());
    ahead.push(event("a", 3, "e3"), give);  // behind the two held ones, not before them
    CHECK(f.given.empty());
    ahead.drain(give);
    CHECK(f.given == V{"e1", "e2", "e3"});
    ahead.push(event("a", 4, "e4"), give);  // nothing held: straight through again
    CHECK(f.given == V{"e1", "e2", "e3", "e4"});
}
