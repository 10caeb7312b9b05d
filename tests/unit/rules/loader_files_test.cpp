// load_rules over files and folders: recursion, file kinds, ids across files.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "loader_test_util.h"

using namespace vigil;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("vigil-rules-" + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        fs::path p = path / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p.string();
    }
};

std::string rule(const std::string& id) {
    return "rule: " + id + "\nstream: sensors\npattern:\n  - name: a\n";
}

}  // namespace

TEST_CASE("files: a folder is read recursively, in name order, skipping hidden entries") {
    TempDir t;
    t.write("b.yaml", rule("b"));
    t.write("a/x.yml", rule("x"));
    t.write("a/deeper/y.yaml", rule("y"));
    t.write("helpers.lua", "function f() end\n");
    t.write("notes.txt", "not a rule");
    t.write("vigil.yaml", "partitions: 4\n");  // a config beside the rules is not a rule file
    t.write(".hidden.yaml", "garbage: [\n");
    t.write(".git/config.yaml", "garbage: [\n");
    t.write("c.test.yaml", "tests:\n  - {name: t, rules: [b, x], events: [], expect: []}\n");
    Diagnostics d;
    LoadedRules l = load_rules({t.path.string()}, test::two_streams(), d);
    REQUIRE_MESSAGE(!d.has_errors(), d.to_string());
    REQUIRE(l.rules);
    REQUIRE(l.rules->rules.size() == 3);
    CHECK(l.rules->rules[0]->id == "y");  // a/deeper/y.yaml < a/x.yml
    CHECK(l.rules->rules[1]->id == "x");
    CHECK(l.rules->rules[2]->id == "b");
    CHECK(l.files.size() == 5);  // three rule files, the test file and the Lua file
    REQUIRE(l.tests.size() == 1);
    CHECK(l.tests[0].file == (t.path / "c.test.yaml").string());
}

TEST_CASE("files: a duplicate id in another file names that file") {
    TempDir t;
    std::string a = t.write("a.yaml", rule("same"));
    std::string b = t.write("b.yaml", "# the same id again\n" + rule("same"));
    Diagnostics d;
    LoadedRules l = load_rules({t.path.string()}, test::two_streams(), d);
    CHECK(l.rules == nullptr);
    CHECK(d.to_string() == b + ":2:7: error: duplicate rule id \"same\" (first defined at " + a + ":1)\n");
}

TEST_CASE("files: a missing path and an unreadable file are errors") {
    Diagnostics d;
    LoadedRules l = load_rules({"no/such/rules"}, test::two_streams(), d);
    CHECK(l.rules == nullptr);
    CHECK(d.to_string() == "no/such/rules: error: cannot read: no such file or directory, or not readable\n");
}

TEST_CASE("files: an error in one file keeps the whole set from loading, and all files are checked") {
    TempDir t;
    t.write("a.yaml", rule("a") + "severity: loud\n");
    t.write("b.yaml", rule("b") + "within: 5\n");
    t.write("c.yaml", rule("c"));
    Diagnostics d;
    LoadedRules l = load_rules({t.path.string()}, test::two_streams(), d);
    CHECK(l.rules == nullptr);
    CHECK(d.error_count() == 2);
    CHECK(l.files.size() == 3);
}

TEST_CASE("files: several paths, diagnostics already present do not block the load") {
    TempDir t;
    std::string a = t.write("a.yaml", rule("a"));
    std::string b = t.write("b.yaml", rule("b"));
    Diagnostics d;
    d.error({"vigil.yaml", 1, 1}, "an earlier problem");
    LoadedRules l = load_rules({a, b}, test::two_streams(), d);
    REQUIRE(l.rules);
    CHECK(l.rules->rules.size() == 2);
}

TEST_CASE("files: a test naming a stream the config does not have") {
    auto l = test::load(rule("a") + "tests:\n  - {name: t, stream: sensor, events: [], expect: []}\n");
    CHECK(l.errors() == "r.yaml:6:5: error: test \"t\": unknown stream \"sensor\"\n");
}
