// vigil run: the daemon. MQTT in -> log -> rules -> outbox -> MQTT out.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <fstream>

#include "daemon/commands.h"
#include "daemon/config.h"
#include "daemon/engine_worker.h"
#include "daemon/ingest.h"
#include "daemon/publisher.h"
#include "daemon/reload.h"
#include "plugins/plugin.h"
#include "rules/rule_loader.h"
#include "storage/log.h"

namespace vigil {

namespace {

MqttOptions mqtt_options(const MqttConfig& c) {
    MqttOptions o;
    o.host = c.host;
    o.port = c.port;
    o.client_id = c.client_id;
    o.username = c.username;
    if (const char* env = std::getenv("VIGIL_MQTT_PASSWORD")) {
        o.password = env;
    } else if (!c.password_file.empty()) {
        std::ifstream in(c.password_file);
        std::getline(in, o.password);
    }
    o.ca_file = c.tls.ca_file;
    o.cert_file = c.tls.cert_file;
    o.key_file = c.tls.key_file;
    o.protocol = c.protocol;
    o.keepalive_s = c.keepalive_s;
    o.session_expiry_s = c.session_expiry_s;
    o.receive_maximum = c.receive_maximum;
    return o;
}

LogOptions log_options(const Config& c) {
    LogOptions o;
    o.dir = c.data_dir;
    o.partitions = c.partitions;
    o.map_size = c.map_size;
    o.sync = c.durability.sync == SyncMode::Always ? StorageSync::Always : StorageSync::Periodic;
    o.sync_interval_ms = c.durability.sync_interval_ms;
    o.retention_max_age_ms = c.retention.max_age_ms;
    o.retention_max_bytes = c.retention.max_bytes;
    return o;
}

RuleSetPtr load_rule_set(const Config& cfg, size_t& files) {
    Diagnostics diags;
    LoadedRules loaded = load_rules({cfg.rules}, cfg.streams, diags);
    for (const auto& d : diags.items()) {
        if (d.severity == Diagnostic::Severity::Error) spdlog::error("{}", d.to_string());
        else spdlog::warn("{}", d.to_string());
    }
    files = loaded.files.size();
    return diags.has_errors() ? nullptr : loaded.rules;
}

int run_daemon(const std::string& config_path) {
    Diagnostics diags;
    auto cfg = load_config(config_path, diags);
    if (!cfg) {
        for (const auto& d : diags.items()) std::fprintf(stderr, "%s\n", d.to_string().c_str());
        return 1;
    }
    spdlog::set_level(spdlog::level::from_str(cfg->log.level));
    size_t rule_files = 0;
    RuleSetPtr rules = load_rule_set(*cfg, rule_files);
    if (!rules) {
        spdlog::error("rules in {} have errors; not starting", cfg->rules);
        return 1;
    }

    // Signals are taken by this thread only (sigtimedwait below).
    sigset_t sigs;
    sigemptyset(&sigs);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&sigs, s);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

    std::string err;
    auto log = EventLog::open(log_options(*cfg), &err);
    if (!log) {
        spdlog::error("storage: {}", err);
        return 1;
    }

    SystemClock clock;
    uint32_t nworkers = std::max<uint32_t>(1, std::min<uint32_t>(static_cast<uint32_t>(cfg->engine.workers), cfg->partitions));
    WorkerOptions wopt;
    wopt.default_alert_topic = cfg->alerts.topic;
    wopt.default_alert_qos = cfg->alerts.qos;
    wopt.checkpoint_events = cfg->engine.checkpoint_events;
    wopt.checkpoint_interval_ms = std::min<int64_t>(cfg->engine.checkpoint_interval_ms, 200);
    std::vector<std::unique_ptr<EngineWorker>> workers;
    for (uint32_t w = 0; w < nworkers; ++w) {
        std::vector<uint32_t> parts;
        for (uint32_t p = w; p < cfg->partitions; p += nworkers) parts.push_back(p);
        workers.push_back(std::make_unique<EngineWorker>(*log, parts, rules, cfg->streams, clock, wopt));
    }

    SinkContext sctx;
    sctx.mqtt = mqtt_options(cfg->mqtt);
    Publisher publisher(*log, *find_sink_plugin("mqtt"), sctx);
    if (!publisher.start(&err)) {
        spdlog::error("alerts: {}", err);
        return 1;
    }
    for (auto& w : workers) w->start();

    Ingest ingest(*log);
    SourceContext src;
    src.streams = cfg->streams;
    src.mqtt = mqtt_options(cfg->mqtt);
    src.connections = cfg->mqtt.connections;
    src.ingest = [&ingest](const StreamSpec& s, std::string_view topic, std::string_view payload) {
        ingest.on_message(s, topic, payload);
    };
    auto source = find_source_plugin("mqtt")->create(src);
    if (!source->start(&err)) {
        spdlog::error("mqtt: {}", err);
        return 1;
    }
    // Hot reload (docs/reload.md): SIGHUP below, the rules-folder watcher, the admin API.
    ReloadController reloader(*cfg, rules, [&workers](RuleSetPtr next) {
        for (auto& w : workers) w->swap_rules(next);
    });
    if (!reloader.start_watcher(&err)) spdlog::warn("reload: no folder watcher ({}); SIGHUP still reloads", err);
    spdlog::info("ready: {} rules from {} files, {} partitions in {}, {} worker(s), broker {}:{}", rules->rules.size(),
                 rule_files, cfg->partitions, cfg->data_dir, nworkers, cfg->mqtt.host, cfg->mqtt.port);

    uint64_t alerts_seen = 0;
    for (;;) {
        timespec timeout{0, 50'000'000};
        int sig = sigtimedwait(&sigs, nullptr, &timeout);
        if (sig == SIGINT || sig == SIGTERM) {
            spdlog::info("signal {}: draining", sig == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
        if (sig == SIGHUP) reloader.reload(ReloadTrigger::Signal);
        uint64_t alerts = 0;
        for (auto& w : workers) alerts += w->stats().alerts;
        if (alerts != alerts_seen) {
            alerts_seen = alerts;
            publisher.notify();
        }
    }

    // Stop taking events, finish what was stored, publish what we can, close.
    reloader.stop_watcher();
    ingest.request_stop();
    source->stop();
    for (auto& w : workers) w->stop();
    publisher.notify();
    publisher.stop(2000);
    uint64_t events = 0, alerts = 0;
    for (auto& w : workers) {
        events += w->stats().events;
        alerts += w->stats().alerts;
    }
    spdlog::info("stopped: {} events stored, {} rejected, {} processed, {} alerts raised, {} delivered",
                 ingest.accepted(), ingest.rejected_total(), events, alerts, publisher.delivered());
    return 0;
}

}  // namespace

void add_cmd_run(CLI::App& app, int& rc) {
    auto* cmd = app.add_subcommand("run", "run the daemon: MQTT in -> durable log -> rules -> alerts out");
    auto path = std::make_shared<std::string>("/etc/vigil/vigil.yaml");
    cmd->add_option("-c,--config", *path, "config file")->capture_default_str();
    cmd->callback([&rc, path] { rc = run_daemon(*path); });
}

}  // namespace vigil
