// vigil check (check_files): config and rules together, in a temp folder.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "daemon/cmd_check.h"

namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("vigil-check-" + std::to_string(rd()));
        fs::create_directories(path / "rules");
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        fs::path p = path / name;
        std::ofstream(p) << text;
        return p.string();
    }
};

const char* kConfig = "streams:\n  sensors: {topic: s/+, key: device}\nrules: rules\n";
const char* kRules = "rules:\n"
                     "  - {rule: a, stream: sensors, pattern: [{name: x}]}\n"
                     "  - {rule: b, stream: sensors, window: {type: tumbling, size: 1m}, aggregate: {n: count()}}\n"
                     "tests:\n  - {name: t, rules: [a], events: [], expect: []}\n";

}  // namespace

TEST_CASE("check: config and its rules folder") {
    TempDir t;
    std::string cfg = t.write("vigil.yaml", kConfig);
    t.write("rules/pack.yaml", kRules);
    t.write("rules/more.test.yaml", "tests:\n  - {name: u, rules: [b], events: [], expect: []}\n");
    std::string out, err;
    CHECK(vigil::check_files(cfg, {}, out, err) == 0);
    CHECK(err == "");
    CHECK(out == "ok: 1 config, 2 rules in 2 files, 2 tests\n");
}

TEST_CASE("check: errors in config and rules, sorted by file and line") {
    TempDir t;
    std::string cfg = t.write("vigil.yaml", std::string(kConfig) + "partitons: 8\n");
    std::string rules = t.write("rules/bad.yaml", "rule: a\nstream: sensor\npattern:\n  - name: x\n    tims: 2\n");
    std::string out, err;
    CHECK(vigil::check_files(cfg, {}, out, err) == 1);
    CHECK(out == "");
    CHECK(err == cfg + ":4:1: error: unknown key \"partitons\" (did you mean \"partitions\"?)\n" +
                     rules + ":2:9: error: unknown stream \"sensor\" (did you mean \"sensors\"?)\n" +
                     rules + ":5:5: error: unknown key \"tims\" (did you mean \"times\"?)\n" +
                     "3 errors, 0 warnings\n");
}

TEST_CASE("check: explicit paths override the config's rules, warnings keep exit 0") {
    TempDir t;
    std::string cfg = t.write("vigil.yaml", kConfig);
    std::string one = t.write("one.yaml", "rule: w\nstream: sensors\nwindow: {type: tumbling, size: 1m}\n");
    std::string out, err;
    CHECK(vigil::check_files(cfg, {one}, out, err) == 0);
    CHECK(err == one + ":3:1: warning: window rule without \"aggregate\": its results carry no values\n");
    CHECK(out == "ok: 1 config, 1 rule in 1 file, 0 tests, 1 warning\n");
}

TEST_CASE("check: rules without a config, and nothing to check") {
    TempDir t;
    std::string one = t.write("one.yaml", "rule: a\npattern: [{name: x}]\n");
    std::string out, err;
    CHECK(vigil::check_files("", {one}, out, err) == 0);
    CHECK(out == "ok: no config, 1 rule in 1 file, 0 tests\n");
    out.clear();
    CHECK(vigil::check_files("", {}, out, err) == 1);
    CHECK(err.find("nothing to check") != std::string::npos);
}
