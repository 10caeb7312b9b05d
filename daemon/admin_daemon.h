#pragma once
// The daemon's side of the admin API: what cmd_run shares with it (DaemonView),
// the metrics it renders from the daemon's own counters, and the callbacks that
// AdminServer calls (admin_server.h). Also the log format (text or JSON).
//
// Guarantees:
//  - Metrics are collected at scrape time from their sources (Ingest, workers,
//    Publisher, EventLog, the MQTT source); nothing is counted twice. Names follow
//    vigil_<what>_<unit>[_total]; labels are stream, partition, reason, rule,
//    role, result: never a device or card id.
//  - Engines are reached only through EngineWorker::inspect (their own thread),
//    with a timeout (2 s): a stuck worker gives an error answer, not a hung call.
//  - Rule enable/disable applies to every worker; the rule list shows it.
// Thread rules: the callbacks run on the admin server's threads; everything they
// touch is thread-safe (atomics, the workers' mutexes, the reload controller's mutex).
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/admin_server.h"
#include "rules/rule.h"

namespace vigil {

struct Config;
class EngineWorker;
class EventLog;
class Ingest;
class Publisher;
class ReloadController;
class Source;

// Messages received per stream (before validation), counted in the source callback.
class StreamCounters {
public:
    explicit StreamCounters(const std::vector<StreamSpec>& streams);
    void count(const std::string& stream);
    std::vector<std::pair<std::string, uint64_t>> snapshot() const;

private:
    std::unordered_map<std::string, std::atomic<uint64_t>> counts_;
    std::atomic<uint64_t> other_{0};
};

struct DaemonView {
    const Config* cfg = nullptr;
    EventLog* log = nullptr;
    const Ingest* ingest = nullptr;
    std::vector<std::unique_ptr<EngineWorker>>* workers = nullptr;
    const Publisher* publisher = nullptr;
    std::function<const Source*()> source;  // null until the source started
    const StreamCounters* streams = nullptr;
    // The rule set in force and the reload history (reload.h).
    const ReloadController* reloader = nullptr;
    std::function<AdminReloadResult()> reload;
    std::atomic<bool>* ready = nullptr;
};

std::string render_daemon_metrics(const DaemonView& view);
AdminCallbacks make_admin_callbacks(const DaemonView& view);

// log.format: "json" writes one JSON object per line ({"time","level","msg"});
// anything else keeps spdlog's text format.
void apply_log_format(const std::string& format);

}  // namespace vigil
