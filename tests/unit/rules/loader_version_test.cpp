// Rule versions: reformatting keeps the version, any change of meaning changes it.
#include <doctest/doctest.h>

#include "loader_test_util.h"

using vigil::test::load;

namespace {

std::string version_of(const std::string& yaml) {
    auto l = load(yaml);
    REQUIRE_MESSAGE(l.errors() == "", l.errors());
    return l.rule().version;
}

const char* kBase = R"(rule: card-testing
stream: transactions
key: card_id
pattern:
  - name: small
    where: amount < 2.00
    times: 3+
  - name: big
    where: amount > 500 && merchant != small[0].merchant
within: 10m
severity: high
)";

}  // namespace

TEST_CASE("version: 8 hex digits, stable across runs") {
    std::string v = version_of(kBase);
    CHECK(v.size() == 8);
    CHECK(v.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(version_of(kBase) == v);
}

TEST_CASE("version: reformatting does not change it") {
    std::string v = version_of(kBase);
    // Flow style, other key order, comments, quotes, spacing in expressions, 600s for 10m.
    CHECK(version_of(R"(# card testing, reformatted
severity: "high"
within: 600s
rule: 'card-testing'
key: card_id
stream: transactions   # from the config
pattern:
  - {where: "amount<2.00", times: 3+, name: small}
  - name: big
    where: |
      amount > 500 &&
        merchant != small[0].merchant
)") == v);
    // Metadata that does not change what the rule computes.
    CHECK(version_of(std::string(kBase) + "description: documented now\ntags: [x]\nenabled: false\n") == v);
    CHECK(version_of(std::string(kBase) + "tests:\n  - {name: t, events: [], expect: []}\n") == v);
}

TEST_CASE("version: a change of meaning changes it") {
    std::string v = version_of(kBase);
    auto changed = [&](const std::string& from, const std::string& to) {
        std::string y = kBase;
        size_t at = y.find(from);
        REQUIRE(at != std::string::npos);
        y.replace(at, from.size(), to);
        return version_of(y);
    };
    CHECK(changed("amount < 2.00", "amount < 3.00") != v);  // threshold
    CHECK(changed("times: 3+", "times: 4+") != v);
    CHECK(changed("within: 10m", "within: 11m") != v);
    CHECK(changed("severity: high", "severity: low") != v);
    CHECK(changed("key: card_id", "key: account") != v);
    CHECK(changed("merchant != small[0]", "merchant == small[0]") != v);
    CHECK(changed("name: big", "name: large") == changed("name: big", "name: large"));
    CHECK(changed("name: big", "name: large") != v);
    // A string is not the number it looks like... but in an expression the text is what counts.
    CHECK(version_of(std::string(kBase) + "emit: {qos: 1}\n") != v);
}

TEST_CASE("version: spaces inside string literals of expressions count") {
    std::string a = version_of("rule: r\nstream: sensors\nwhere: name == \"a b\"\npattern: [{name: x}]\n");
    std::string b = version_of("rule: r\nstream: sensors\nwhere: name == \"a  b\"\npattern: [{name: x}]\n");
    std::string c = version_of("rule: r\nstream: sensors\nwhere: name==\"a b\"\npattern: [{name: x}]\n");
    CHECK(a != b);
    CHECK(a == c);
}
