// `state_on_change: keep` (patterns/adopt.h, docs/reload.md): a changed rule takes
// over its previous version's state when the change is compatible, and starts
// fresh with a reason when it is not. Real rules from YAML, the real runtimes.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "patterns/adopt.h"
#include "patterns/engine.h"
#include "rules_support.h"

using namespace vigil;

namespace {

RuleSetPtr load(const std::string& yaml) { return rules_test::load_yaml(yaml); }

StreamSpec stream() { return rules_test::stream_s(); }

EventPtr event(const std::string& type, int64_t time, const std::string& id, double v = 0, const std::string& key = "k") {
    auto e = std::make_shared<Event>();
    e->time = time;
    e->key = key;
    e->stream = "s";
    e->offset = static_cast<uint64_t>(time);
    const std::string payload_text = "{\"type\":\"" + type + "\",\"id\":\"" + id + "\",\"key\":\"" + key +
                 "\",\"v\":" + std::to_string(v) + ",\"ts\":" + std::to_string(time) + "}";
    e->doc.parse(payload_text);
    return e;
}

std::string ids(const Alert& a) {
    std::string s;
    for (const auto& [stage, evs] : a.events)
        for (const auto& e : evs) s += (s.empty() ? "" : " ") + std::string(e->root()["id"].as_string());
    return s;
}

struct Engine {
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine;
    explicit Engine(const std::string& yaml) : engine(load(yaml), {stream()}, clock, sink) {}
};

// a, then b twice (relaxed), within 10s; `b_cond`, `within` and `emit` vary.
std::string pattern_rule(const std::string& b_cond, const std::string& times = "2", const std::string& within = "10s",
                         const std::string& keep = "keep") {
    return "rule: p\nstream: s\nstate_on_change: " + keep +
           "\npattern:\n  - name: a\n    where: type == \"a\"\n  - name: b\n    where: " + b_cond +
           "\n    times: " + times + "\nwithin: " + within + "\n";
}

}  // namespace

TEST_CASE("keep: a partial match survives a compatible pattern change and completes with the new condition") {
    Engine f(pattern_rule("type == \"b\""));
    f.engine.push(event("a", 1000, "a1"));
    f.engine.push(event("b", 2000, "b1"));
    const RuleRuntime* before = f.engine.runtime("p");
    // New condition on b and a longer within: compatible.
    f.engine.swap_rules(load(pattern_rule("type == \"b\" && v > 5", "2", "20s")));
    REQUIRE(f.engine.last_keep().size() == 1);
    CHECK(f.engine.last_keep()[0].kept);
    CHECK(f.engine.last_keep()[0].why_not.empty());
    CHECK(f.engine.runtime("p") != before);  // a new runtime for the new version ...
    CHECK(f.engine.runtime("p")->key_count() == 1);  // ... with the old partial match
    f.engine.push(event("b", 3000, "b2", 1));   // fails the new condition
    CHECK(f.sink.alerts.empty());
    f.engine.push(event("b", 15000, "b3", 9));  // passes it; 14 s after a1: only the new within allows it
    REQUIRE(f.sink.alerts.size() == 1);
    CHECK(ids(f.sink.alerts[0]) == "a1 b1 b3");
    CHECK(f.sink.alerts[0].version == f.engine.rules()->rules[0]->version);
}

TEST_CASE("keep: a shorter within makes a kept partial match time out at once") {
    Engine f(pattern_rule("type == \"b\"", "2", "1m"));
    f.engine.push(event("a", 1000, "a1"));
    f.engine.push(event("x", 30000, "x1"));  // watermark 30 s
    f.engine.swap_rules(load(pattern_rule("type == \"b\"", "2", "5s")));
    REQUIRE(f.engine.last_keep().size() == 1);
    CHECK(f.engine.last_keep()[0].kept);
    // a1's deadline is now 6 s, already behind the watermark: pruned, nothing left.
    CHECK(f.engine.runtime("p")->key_count() == 0);
    f.engine.push(event("b", 31000, "b1"));
    f.engine.push(event("b", 32000, "b2"));
    CHECK(f.sink.alerts.empty());
}

TEST_CASE("keep: a changed quantifier is incompatible, the rule starts fresh and the reason names the stage") {
    Engine f(pattern_rule("type == \"b\""));
    f.engine.push(event("a", 1000, "a1"));
    f.engine.push(event("b", 2000, "b1"));
    f.engine.swap_rules(load(pattern_rule("type == \"b\"", "3")));
    REQUIRE(f.engine.last_keep().size() == 1);
    CHECK_FALSE(f.engine.last_keep()[0].kept);
    CHECK(f.engine.last_keep()[0].why_not == "stage 2 (\"b\") changed its quantifier");
    CHECK(f.engine.runtime("p")->key_count() == 0);
    f.engine.push(event("b", 3000, "b2"));
    f.engine.push(event("b", 4000, "b3"));
    CHECK(f.sink.alerts.empty());  // a1 b1 were dropped with the old state
}

TEST_CASE("keep: without state_on_change: keep a changed rule starts fresh") {
    Engine f(pattern_rule("type == \"b\"", "2", "10s", "reset"));
    f.engine.push(event("a", 1000, "a1"));
    f.engine.swap_rules(load(pattern_rule("type == \"b\" && v >= 0", "2", "10s", "reset")));
    CHECK(f.engine.last_keep().empty());
    CHECK(f.engine.runtime("p")->key_count() == 0);
}

namespace {
std::string window_rule(const std::string& having, const std::string& size = "10s") {
    return "rule: w\nstream: s\nstate_on_change: keep\nwindow: {type: tumbling, size: " + size +
           "}\naggregate:\n  n: count()\n  total: sum(v)\nhaving: " + having + "\n";
}
}  // namespace

TEST_CASE("keep: a window rule whose threshold changes keeps counting in its open window") {
    Engine f(window_rule("n >= 5"));
    f.engine.push(event("t", 1000, "e1", 1));
    f.engine.push(event("t", 2000, "e2", 2));
    f.engine.swap_rules(load(window_rule("n >= 3")));
    REQUIRE(f.engine.last_keep().size() == 1);
    CHECK(f.engine.last_keep()[0].kept);
    f.engine.push(event("t", 3000, "e3", 4));
    CHECK(f.sink.alerts.empty());
    f.engine.flush();
    REQUIRE(f.sink.alerts.size() == 1);
    CHECK(f.sink.alerts[0].values_json == "{\"n\":3,\"total\":7}");
}

TEST_CASE("keep: a window rule whose size changes starts fresh, naming the difference") {
    Engine f(window_rule("n >= 5"));
    f.engine.push(event("t", 1000, "e1", 1));
    f.engine.push(event("t", 2000, "e2", 2));
    f.engine.swap_rules(load(window_rule("n >= 1", "20s")));
    REQUIRE(f.engine.last_keep().size() == 1);
    CHECK_FALSE(f.engine.last_keep()[0].kept);
    CHECK(f.engine.last_keep()[0].why_not == "the window size changed");
    f.engine.push(event("t", 3000, "e3", 4));
    f.engine.flush();
    REQUIRE(f.sink.alerts.size() == 1);
    CHECK(f.sink.alerts[0].values_json == "{\"n\":1,\"total\":4}");
}

namespace {
std::string lua_rule(int threshold) {
    return "rule: l\nstream: s\nstate_on_change: keep\nlua: |\n  function on_event(ev, state, ctx)\n"
           "    state.n = (state.n or 0) + 1\n    if state.n == " +
           std::to_string(threshold) + " then ctx.emit{ n = state.n } end\n  end\n";
}
}  // namespace

TEST_CASE("keep: a Lua rule's new script sees the per-key state of the old one") {
    Engine f(lua_rule(10));
    f.engine.push(event("t", 1000, "e1", 0, "k1"));
    f.engine.push(event("t", 2000, "e2", 0, "k1"));
    f.engine.push(event("t", 2500, "e3", 0, "k2"));
    f.engine.swap_rules(load(lua_rule(3)));
    REQUIRE(f.engine.last_keep().size() == 1);
    CHECK(f.engine.last_keep()[0].kept);
    CHECK(f.engine.runtime("l")->key_count() == 2);
    f.engine.push(event("t", 3000, "e4", 0, "k1"));
    REQUIRE(f.sink.alerts.size() == 1);
    CHECK(f.sink.alerts[0].key == "k1");
    CHECK(f.sink.alerts[0].payload_json == "{\"n\":3}");
}

TEST_CASE("keep: state_compatible names what differs") {
    auto one = [](const std::string& yaml) { return load(yaml)->rules[0]; };
    std::string why;
    auto p = one(pattern_rule("type == \"b\""));
    CHECK(state_compatible(*p, *one(pattern_rule("type == \"c\"", "2", "1h")), why));
    CHECK(why.empty());
    CHECK_FALSE(state_compatible(*p, *one(window_rule("n > 1")), why));
    CHECK(why == "the rule body changed (pattern -> window)");
    CHECK_FALSE(state_compatible(*p, *one("rule: p\nstream: s\npattern:\n  - name: a\n  - name: c\n"), why));
    CHECK(why == "stage 2 changed its name (\"b\" -> \"c\")");
    CHECK_FALSE(state_compatible(*p, *one("rule: p\nstream: s\nkey: id\npattern:\n  - name: a\n  - name: b\n    times: 2\n"), why));
    CHECK(why == "the key changed (the stream's key -> id)");
    CHECK_FALSE(state_compatible(*p, *one("rule: p\nstream: s\npattern:\n  - name: a\n  - name: b\n    times: 2\n    contiguity: strict\n"), why));
    CHECK(why == "stage 2 (\"b\") changed its contiguity");
    auto w = one(window_rule("n > 1"));
    CHECK_FALSE(state_compatible(*w, *one("rule: w\nstream: s\nwindow: {type: tumbling, size: 10s}\naggregate:\n  n: count()\n  total: sum(v * 2)\n"), why));
    CHECK(why == "aggregate 2 changed (total: sum(v) -> total: sum(v * 2))");
    CHECK(state_compatible(*w, *one(window_rule("total > 100")), why));
}

// With checkpoints on (the daemon), the swap deletes the old version's stored rows,
// so every key a new version kept must be written again under the new version.
TEST_CASE("keep: with checkpoint tracking, every kept key is saved again under the new version") {
    struct Kind {
        std::string before, after, rule;
    };
    const Kind kinds[] = {
        {pattern_rule("type == \"b\""), pattern_rule("type == \"b\" && v > 5", "2", "20s"), "p"},
        {window_rule("n >= 5"), window_rule("n >= 2"), "w"},
        {lua_rule(10), lua_rule(3), "l"},
    };
    for (const Kind& k : kinds) {
        CAPTURE(k.rule);
        Engine f(k.before);
        f.engine.track_state_changes(true);
        f.engine.push(event("a", 1000, "e1", 1, "k1"));
        f.engine.push(event("a", 1500, "e2", 1, "k2"));
        f.engine.advance_watermark("s", 1600);
        size_t first = 0;
        f.engine.take_state_changes([&](const Rule& r, StateDelta& d) {
            if (r.id == k.rule) first += d.put.size();
        });
        CHECK(first == 2);
        RuleSetPtr next = load(k.after);
        f.engine.swap_rules(next);
        REQUIRE(f.engine.last_keep().size() == 1);
        REQUIRE(f.engine.last_keep()[0].kept);
        std::vector<std::string> saved;
        f.engine.take_state_changes([&](const Rule& r, StateDelta& d) {
            if (r.id != k.rule) return;
            CHECK(r.version == next->rules[0]->version);
            for (const auto& [key, bytes] : d.put) saved.push_back(key);
        });
        std::sort(saved.begin(), saved.end());
        CHECK(saved == std::vector<std::string>{"k1", "k2"});
    }
}
