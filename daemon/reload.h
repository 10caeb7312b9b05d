#pragma once
// Hot reload of the rule set (SPEC section 4; docs/reload.md).
//
// A ReloadController owns "the rule set in force" of a running daemon and the ways
// to replace it: reload(trigger), called from SIGHUP, from its own watcher thread
// (inotify on the rules folder, recursive, debounced) and from the admin API.
//
// Guarantees:
//  - reload() re-reads the config file and the whole rules folder, and parses,
//    validates and compiles them on the calling thread, never on an engine thread.
//    Calls are serialized: two triggers at once run one after the other.
//  - On any error (config or rules) nothing is applied: the running rules stay,
//    the errors (`file:line:col: error: ...`) are logged, returned in the outcome
//    and kept in status() until the next successful reload.
//  - On success the new set goes to `apply` (the daemon hands it to every engine
//    worker, which swaps it in between two events) and becomes rules().
//  - Settings that cannot change without a restart (data_dir, partitions,
//    mqtt.client_id) are refused by name when they differ: listed in
//    outcome.refused and logged, the running value stays; the reload itself goes
//    on. Applied from the new config: the rules path and log.level.
//  - The watcher reacts to IN_CLOSE_WRITE, IN_MOVED_TO, IN_MOVED_FROM, IN_CREATE
//    and IN_DELETE of *.yaml, *.yml and *.lua files and of folders (editors that
//    save by writing a temporary file and renaming it over the old one produce an
//    IN_MOVED_TO of the real name). After the last such event it waits `debounce`
//    of quiet, then reloads once. New sub-folders are watched as they appear.
// Failure modes: start_watcher() returns false with a message when inotify cannot
// be set up (the daemon runs on, SIGHUP still works); an inotify queue overflow is
// treated as a change.
// Thread rules: every public function may be called from any thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/config.h"
#include "rules/rule.h"

namespace vigil {

enum class ReloadTrigger { Signal, Watcher, Api, Manual };
const char* trigger_name(ReloadTrigger t);

struct ReloadOutcome {
    bool ok = false;
    std::vector<std::string> errors;   // file:line:col: error: message
    std::vector<std::string> refused;  // settings that differ but need a restart, by name
    size_t rules = 0;                  // rules in force after this reload
    size_t files = 0;
    size_t added = 0, changed = 0, removed = 0, unchanged = 0;
    std::chrono::milliseconds duration{0};
};

// What status output and /metrics show.
struct ReloadStatus {
    uint64_t ok = 0;                 // vigil_config_reloads_total{result="success"}
    uint64_t failed = 0;             // vigil_config_reloads_total{result="failure"}
    int64_t last_reload_ms = 0;      // wall time of the last attempt (0: none yet)
    int64_t last_success_ms = 0;     // wall time of the last good reload (0: none yet)
    bool last_ok = true;
    size_t rules_loaded = 0;
    std::vector<std::string> last_errors;  // of the last failed reload, cleared by a good one
    std::vector<std::string> refused;      // of the last reload
};

class ReloadController {
public:
    using ApplyFn = std::function<void(RuleSetPtr)>;

    // `running`: the config the daemon started with; `rules`: the set in force.
    ReloadController(Config running, RuleSetPtr rules, ApplyFn apply);
    ~ReloadController();
    ReloadController(const ReloadController&) = delete;
    ReloadController& operator=(const ReloadController&) = delete;

    ReloadOutcome reload(ReloadTrigger trigger);

    bool start_watcher(std::string* error, std::chrono::milliseconds debounce = std::chrono::milliseconds(200));
    void stop_watcher();

    RuleSetPtr rules() const;
    ReloadStatus status() const;

private:
    void watch_loop(std::chrono::milliseconds debounce);
    bool add_watches(const std::string& dir);
    std::string rules_path() const;

    Config running_;
    ApplyFn apply_;
    mutable std::mutex mu_;       // guards rules_, status_, running_.rules / log
    std::mutex reload_mu_;        // one reload at a time
    RuleSetPtr rules_;
    ReloadStatus status_;

    std::map<int, std::string> watched_;  // watch descriptor -> folder; the watcher thread's once started
    int inotify_fd_ = -1;
    int wake_fd_ = -1;            // eventfd to stop the watcher
    std::thread watcher_;
    std::atomic<bool> rewatch_{false};  // the rules path changed: rebuild the watches
};

// Loads the rules of `cfg` (the daemon's loader); errors go to `errors`, warnings
// are logged. Null on any error.
RuleSetPtr load_rules_for(const Config& cfg, std::vector<std::string>& errors, size_t& files);

}  // namespace vigil
