// After-match skip strategies: Flink CEP's table for `b+ c` over `b1 b2 b3 c`,
// written here as `a+ b` over `a1 a2 a3 b1` with a greedy loop.
#include <doctest/doctest.h>

#include "nfa_support.h"

using namespace vigil;
using namespace vigil::nfa_test;
using V = std::vector<std::string>;

namespace {
V run_skip(SkipStrategy skip, const std::string& skip_stage = "", bool greedy = true) {
    auto rule = pattern_rule({stage({.name = "a", .max = kUnbounded, .greedy = greedy}), stage({.name = "b"})});
    rule->pattern.skip = skip;
    rule->pattern.skip_stage = skip_stage;
    Harness h(rule);
    h.run("a1 a2 a3 b1");
    return h.matches();
}
}  // namespace

TEST_CASE("nfa skip: the Flink table for a+ b over a1 a2 a3 b1") {
    CHECK(run_skip(SkipStrategy::NoSkip) == V{"a1 a2 a3 b1", "a2 a3 b1", "a3 b1"});
    CHECK(run_skip(SkipStrategy::ToNext) == V{"a1 a2 a3 b1", "a2 a3 b1", "a3 b1"});
    CHECK(run_skip(SkipStrategy::PastLastEvent) == V{"a1 a2 a3 b1"});
    CHECK(run_skip(SkipStrategy::ToFirst, "a") == V{"a1 a2 a3 b1", "a2 a3 b1", "a3 b1"});
    CHECK(run_skip(SkipStrategy::ToLast, "a") == V{"a1 a2 a3 b1", "a3 b1"});
}

TEST_CASE("nfa skip: a non-greedy loop also yields the shorter runs under no_skip") {
    auto m = run_skip(SkipStrategy::NoSkip, "", false);
    std::sort(m.begin(), m.end());
    CHECK(m == V{"a1 a2 a3 b1", "a1 a2 b1", "a1 b1", "a2 a3 b1", "a2 b1", "a3 b1"});
    CHECK(run_skip(SkipStrategy::PastLastEvent, "", false) == V{"a1 a2 a3 b1"});
}

TEST_CASE("nfa skip: a b+ over a b1 b2 b3 -- no_skip vs to_next (Flink docs)") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b", .max = kUnbounded})});
    Harness no_skip(rule);
    no_skip.run("a b1 b2 b3");
    CHECK(no_skip.matches() == V{"a b1", "a b1 b2", "a b1 b2 b3"});

    auto rule2 = pattern_rule({stage({.name = "a"}), stage({.name = "b", .max = kUnbounded})});
    rule2->pattern.skip = SkipStrategy::ToNext;
    Harness to_next(rule2);
    to_next.run("a b1 b2 b3");
    CHECK(to_next.matches() == V{"a b1"});
}

TEST_CASE("nfa skip: past_last_event makes matches disjoint") {
    auto rule = pattern_rule({stage({.name = "a"}), stage({.name = "b", .contiguity = Contiguity::Any})});
    rule->pattern.skip = SkipStrategy::PastLastEvent;
    Harness h(rule);
    h.run("a1 a2 b1 b2 a3 b3");
    CHECK(h.matches() == V{"a1 b1", "a3 b3"});
}
