// tests/rules/errors/: bad rule files, each with an `expect_error` test naming the
// exact line:col and message. Loading the folder succeeds (the files are error
// fixtures, their rules are not loaded); compiling each test's rules gives the error.
#include <doctest/doctest.h>

#include <filesystem>

#include "loader_test_util.h"

using namespace vigil;

TEST_CASE("error fixtures: every expect_error in tests/rules/errors holds") {
    std::string dir = std::string(VIGIL_SOURCE_DIR) + "/tests/rules/errors";
    Diagnostics d;
    LoadedRules all = load_rules({dir}, test::two_streams(), d);
    REQUIRE_MESSAGE(!d.has_errors(), d.to_string());
    REQUIRE(all.rules);
    CHECK(all.rules->rules.empty());
    CHECK(all.files.size() >= 12);
    REQUIRE(all.tests.size() >= 13);
    for (const RuleTestCase& t : all.tests) {
        CAPTURE(t.file);
        CAPTURE(t.name);
        REQUIRE(!t.expect_error.empty());
        REQUIRE(!t.rules_yaml.empty());
        Diagnostics inner;
        LoadedRules r = load_rules_text(t.rules_yaml, t.file, test::two_streams(), inner);
        CHECK(r.rules == nullptr);
        CHECK(inner.error_count() == 1);
        std::string expected = t.file + ":" + t.expect_error;
        CHECK_MESSAGE(inner.to_string().find(expected) == 0, inner.to_string());
    }
}
