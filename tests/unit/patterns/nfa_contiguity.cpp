// Contiguity and quantifiers, on the examples of Flink CEP's documentation.
#include <doctest/doctest.h>

#include "nfa_support.h"

using namespace vigil;
using namespace vigil::nfa_test;
using V = std::vector<std::string>;

namespace {
std::shared_ptr<Rule> a_b(Contiguity c) {
    return pattern_rule({stage({.name = "a"}), stage({.name = "b", .contiguity = c})});
}
}  // namespace

TEST_CASE("nfa: a b over a c b1 b2 -- strict, relaxed, any (Flink contiguity example)") {
    Harness strict(a_b(Contiguity::Strict));
    strict.run("a c b1 b2");
    CHECK(strict.matches() == V{});

    Harness relaxed(a_b(Contiguity::Relaxed));
    relaxed.run("a c b1 b2");
    CHECK(relaxed.matches() == V{"a b1"});

    Harness any(a_b(Contiguity::Any));
    any.run("a c b1 b2");
    CHECK(any.matches() == V{"a b1", "a b2"});
}

TEST_CASE("nfa: strict contiguity matches when the next event follows at once") {
    Harness h(a_b(Contiguity::Strict));
    h.run("a b1 a2 c b2");
    CHECK(h.matches() == V{"a b1"});
}

namespace {
// c, then a+ (relaxed to c), then b: Flink's consecutive()/allowCombinations() example.
std::shared_ptr<Rule> c_a_plus_b(Contiguity inner) {
    return pattern_rule({stage({.name = "c"}), stage({.name = "a", .max = kUnbounded, .inner = inner}),
                         stage({.name = "b"})});
}
}  // namespace

TEST_CASE("nfa: looping stage inner contiguity over c d a1 a2 a3 d a4 b (Flink docs)") {
    Harness relaxed(c_a_plus_b(Contiguity::Relaxed));
    relaxed.run("c d a1 a2 a3 d a4 b");
    CHECK(relaxed.matches() == V{"c a1 a2 a3 a4 b", "c a1 a2 a3 b", "c a1 a2 b", "c a1 b"});

    Harness consecutive(c_a_plus_b(Contiguity::Strict));
    consecutive.run("c d a1 a2 a3 d a4 b");
    CHECK(consecutive.matches() == V{"c a1 a2 a3 b", "c a1 a2 b", "c a1 b"});

    Harness combinations(c_a_plus_b(Contiguity::Any));
    combinations.run("c d a1 a2 a3 d a4 b");
    auto m = combinations.matches();
    std::sort(m.begin(), m.end());
    CHECK(m == V{"c a1 a2 a3 a4 b", "c a1 a2 a3 b", "c a1 a2 a4 b", "c a1 a2 b", "c a1 a3 a4 b", "c a1 a3 b",
                 "c a1 a4 b", "c a1 b"});
}

TEST_CASE("nfa: times N, N..M and N+") {
    SUBCASE("exactly 3") {
        Harness h(pattern_rule({stage({.name = "a", .min = 3, .max = 3})}));
        h.run("a1 a2 x a3 a4");
        CHECK(h.matches() == V{"a1 a2 a3", "a2 a3 a4"});
    }
    SUBCASE("2..3 greedy inside a sequence") {
        Harness h(pattern_rule({stage({.name = "a", .min = 2, .max = 3, .greedy = true}), stage({.name = "b"})}));
        h.run("a1 a2 a3 b1");
        CHECK(h.matches() == V{"a1 a2 a3 b1", "a2 a3 b1"});
    }
    SUBCASE("2+ at the end emits each longer run") {
        Harness h(pattern_rule({stage({.name = "b"}), stage({.name = "a", .min = 2, .max = kUnbounded})}));
        h.run("b a1 a2 a3");
        CHECK(h.matches() == V{"b a1 a2", "b a1 a2 a3"});
    }
    SUBCASE("times 3 consecutive breaks on a foreign event") {
        Harness h(pattern_rule({stage({.name = "a", .min = 3, .max = 3, .inner = Contiguity::Strict})}));
        h.run("a1 a2 x a3 a4 a5");
        CHECK(h.matches() == V{"a3 a4 a5"});
    }
}

TEST_CASE("nfa: optional stage (Flink: only stages that matched appear)") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b", .optional = true}), stage({.name = "c"})});
    rule->pattern.skip = SkipStrategy::PastLastEvent;
    Harness h(rule);
    h.run("a1 c1 a2 b2 c2");
    CHECK(h.matches() == V{"a1 c1", "a2 b2 c2"});
    REQUIRE(h.sink.alerts.size() == 2);
    CHECK(h.sink.alerts[0].events.size() == 2);  // a and c only
    CHECK(h.sink.alerts[0].events[1].first == "c");
}

TEST_CASE("nfa: until closes a loop, the closing event may start the next stage") {
    auto rule = pattern_rule({stage({.name = "a", .max = kUnbounded, .greedy = true, .until = is("u")}),
                              stage({.name = "b"})});
    Harness h(rule);
    h.run("a1 a2 u a3 b1");
    // a1 a2 stop at u; a3 starts its own run and is not appended to a1 a2.
    CHECK(h.matches() == V{"a1 a2 b1", "a2 b1", "a3 b1"});
}

TEST_CASE("nfa: conditions read earlier stages and running aggregates") {
    SUBCASE("big must differ from small[0].merchant") {
        auto rule = pattern_rule({stage({.name = "small", .type = "s"}),
                                  stage({.name = "big", .where = std::make_shared<DiffersFromStage>("b", "m", 0)})});
        Harness h(rule);
        h.push(event("s", 1, "s1", "k", "\"m\":\"x\""));
        h.push(event("b", 2, "b1", "k", "\"m\":\"x\""));
        h.push(event("b", 3, "b2", "k", "\"m\":\"y\""));
        CHECK(h.matches() == V{"s1 b2"});
    }
    SUBCASE("sum(small.amount) + amount < 10 limits a loop") {
        auto rule = pattern_rule({stage({.name = "small", .max = kUnbounded, .greedy = true,
                                         .where = std::make_shared<RunningSumBelow>("s", 0, 10)}),
                                  stage({.name = "end", .type = "e"})});
        Harness h(rule);
        h.push(event("s", 1, "s1", "k", "\"amount\":4"));
        h.push(event("s", 2, "s2", "k", "\"amount\":4"));
        h.push(event("s", 3, "s3", "k", "\"amount\":4"));  // 12 > 10: not taken by s1's run
        h.push(event("e", 4, "e1", "k"));
        CHECK(h.matches() == V{"s1 s2 e1", "s2 s3 e1", "s3 e1"});
    }
}

TEST_CASE("nfa: keys are matched independently") {
    Harness h(a_b(Contiguity::Strict));
    h.push(event("a", 1, "a1", "k1"));
    h.push(event("a", 2, "a2", "k2"));
    h.push(event("b", 3, "b1", "k1"));
    h.push(event("b", 4, "b2", "k2"));
    CHECK(h.matches() == V{"a1 b1", "a2 b2"});
    CHECK(h.sink.alerts[0].key == "k1");
    CHECK(h.sink.alerts[1].key == "k2");
}
