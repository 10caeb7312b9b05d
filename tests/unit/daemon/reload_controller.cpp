// ReloadController: the safe swap (errors keep the running set), refused settings,
// counters, and the inotify watcher with real files in a temporary folder.
#include <doctest/doctest.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "daemon/reload.h"
#include "reload_support.h"

using namespace vigil;
using namespace vigil::reload_test;

namespace {

struct Fixture {
    TempTree dir;
    std::mutex mu;
    std::vector<RuleSetPtr> applied;
    std::unique_ptr<ReloadController> ctl;

    explicit Fixture(const std::string& conf = config_yaml()) {
        dir.write("vigil.yaml", conf);
        dir.write("rules/a.yaml", pattern_rule("a"));
        Diagnostics d;
        auto cfg = load_config(dir.file("vigil.yaml"), d);
        REQUIRE_MESSAGE(cfg, d.to_string());
        std::vector<std::string> errors;
        size_t files = 0;
        RuleSetPtr rules = load_rules_for(*cfg, errors, files);
        REQUIRE(rules);
        ctl = std::make_unique<ReloadController>(*cfg, rules, [this](RuleSetPtr r) {
            std::lock_guard lk(mu);
            applied.push_back(std::move(r));
        });
    }
    size_t applied_count() {
        std::lock_guard lk(mu);
        return applied.size();
    }
};

bool eventually(const std::function<bool()>& pred, int timeout_ms = 5000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
}

}  // namespace

TEST_CASE("reload: a valid edit is applied, unchanged, changed, added and removed rules are counted") {
    Fixture f;
    RuleSetPtr before = f.ctl->rules();
    f.dir.write("rules/b.yaml", pattern_rule("b"));
    ReloadOutcome o = f.ctl->reload(ReloadTrigger::Manual);
    REQUIRE(o.ok);
    CHECK(o.errors.empty());
    CHECK(o.rules == 2);
    CHECK(o.files == 2);
    CHECK(o.added == 1);
    CHECK(o.unchanged == 1);
    REQUIRE(f.applied_count() == 1);
    CHECK(f.applied[0] == f.ctl->rules());
    CHECK(f.ctl->rules() != before);
    // The unchanged rule keeps its version (what the engine keys state on).
    CHECK(f.ctl->rules()->find("a")->version == before->find("a")->version);

    f.dir.write("rules/a.yaml", pattern_rule("a", "z"));
    std::filesystem::remove(f.dir.file("rules/b.yaml"));
    o = f.ctl->reload(ReloadTrigger::Signal);
    REQUIRE(o.ok);
    CHECK(o.changed == 1);
    CHECK(o.removed == 1);
    CHECK(o.rules == 1);
    CHECK(f.ctl->rules()->find("a")->version != before->find("a")->version);

    ReloadStatus s = f.ctl->status();
    CHECK(s.ok == 2);
    CHECK(s.failed == 0);
    CHECK(s.rules_loaded == 1);
    CHECK(s.last_ok);
    CHECK(s.last_reload_ms > 0);
}

TEST_CASE("reload: an invalid edit keeps the running set and reports file:line:col") {
    Fixture f;
    RuleSetPtr before = f.ctl->rules();
    f.dir.write("rules/a.yaml", "rule: a\nstream: s\npattern:\n  - name: first\n    where: amount >\n");
    f.dir.write("rules/c.yaml", "rule: c\nstream: nope\npattern:\n  - name: x\n");
    ReloadOutcome o = f.ctl->reload(ReloadTrigger::Api);
    CHECK_FALSE(o.ok);
    REQUIRE(o.errors.size() >= 2);
    bool a_pos = false, c_pos = false;
    for (const auto& e : o.errors) {
        a_pos |= e.find("a.yaml:5:") != std::string::npos;
        c_pos |= e.find("c.yaml:2:") != std::string::npos;
    }
    CHECK_MESSAGE(a_pos, o.errors[0]);
    CHECK_MESSAGE(c_pos, o.errors[1]);
    CHECK(f.applied_count() == 0);
    CHECK(f.ctl->rules() == before);
    ReloadStatus s = f.ctl->status();
    CHECK(s.failed == 1);
    CHECK_FALSE(s.last_ok);
    CHECK(s.last_errors == o.errors);
    CHECK(s.rules_loaded == 1);
    CHECK(s.last_success_ms == 0);

    // Fixing the files clears the errors.
    f.dir.write("rules/a.yaml", pattern_rule("a"));
    std::filesystem::remove(f.dir.file("rules/c.yaml"));
    o = f.ctl->reload(ReloadTrigger::Api);
    CHECK(o.ok);
    CHECK(f.ctl->status().last_errors.empty());
    s = f.ctl->status();
    CHECK(s.ok == 1);
    CHECK(s.last_ok);
    CHECK(s.last_success_ms > 0);
    CHECK(s.last_success_ms == s.last_reload_ms);
}

TEST_CASE("reload: a broken config file keeps everything, restart-only settings are refused by name") {
    Fixture f;
    f.dir.write("vigil.yaml", config_yaml() + "partitons: 3\n");
    ReloadOutcome o = f.ctl->reload(ReloadTrigger::Signal);
    CHECK_FALSE(o.ok);
    REQUIRE_FALSE(o.errors.empty());
    CHECK(o.errors[0].find("vigil.yaml:8:") != std::string::npos);
    CHECK(f.applied_count() == 0);

    // data_dir, partitions and client id differ: refused; the new rules path and log level apply.
    f.dir.write("other/b.yaml", pattern_rule("b"));
    f.dir.write("vigil.yaml", config_yaml("./elsewhere", 4, "t2", "./other", "warn"));
    auto level_before = spdlog::get_level();
    o = f.ctl->reload(ReloadTrigger::Signal);
    REQUIRE(o.ok);
    CHECK(o.refused == std::vector<std::string>{"data_dir", "partitions", "mqtt.client_id"});
    CHECK(f.ctl->status().refused == o.refused);
    REQUIRE(f.applied_count() == 1);
    CHECK(f.ctl->rules()->find("b") != nullptr);
    CHECK(f.ctl->rules()->find("a") == nullptr);
    CHECK(spdlog::get_level() == spdlog::level::warn);
    spdlog::set_level(level_before);
}

TEST_CASE("reload watcher: saves in place and by rename, new sub-folders and deletes reload, debounced") {
    Fixture f;
    std::string err;
    REQUIRE_MESSAGE(f.ctl->start_watcher(&err, std::chrono::milliseconds(100)), err);
    auto ok_count = [&] { return f.ctl->status().ok; };

    // A burst of writes gives one reload after the quiet period.
    for (int i = 0; i < 5; ++i) f.dir.write("rules/b.yaml", pattern_rule("b", "x" + std::to_string(i)));
    REQUIRE(eventually([&] { return ok_count() >= 1; }));
    CHECK(f.ctl->rules()->find("b") != nullptr);
    CHECK(ok_count() <= 2);  // one, or two if the machine paused inside the burst

    // Save by rename: the temporary name is not a rule file, the rename target is.
    uint64_t n = ok_count();
    std::string v_before = f.ctl->rules()->find("b")->version;
    f.dir.save_by_rename("rules/b.yaml", pattern_rule("b", "q"));
    REQUIRE(eventually([&] { return ok_count() > n; }));
    CHECK(f.ctl->rules()->find("b")->version != v_before);

    // A new sub-folder, and a file created inside it afterwards.
    n = ok_count();
    std::filesystem::create_directories(f.dir.file("rules/sub"));
    REQUIRE(eventually([&] { return ok_count() > n; }));
    n = ok_count();
    f.dir.write("rules/sub/c.yaml", pattern_rule("c"));
    REQUIRE(eventually([&] { return f.ctl->rules()->find("c") != nullptr; }));

    // A delete.
    std::filesystem::remove(f.dir.file("rules/b.yaml"));
    REQUIRE(eventually([&] { return f.ctl->rules()->find("b") == nullptr; }));

    // An invalid edit is seen and refused; the set stays.
    uint64_t failed = f.ctl->status().failed;
    f.dir.write("rules/sub/c.yaml", "rule: c\nstream: s\npattern: 3\n");
    REQUIRE(eventually([&] { return f.ctl->status().failed > failed; }));
    CHECK(f.ctl->rules()->find("c") != nullptr);

    // Files that are not rules (editor swap files) do not trigger a reload.
    n = ok_count() + f.ctl->status().failed;
    f.dir.write("rules/.a.yaml.swp", "junk");
    f.dir.write("rules/notes.txt", "junk");
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // proves an absence: nothing may happen
    CHECK(ok_count() + f.ctl->status().failed == n);
    f.ctl->stop_watcher();
}
