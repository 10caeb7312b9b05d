// vigil run: the daemon. MQTT in -> log -> rules -> outbox -> MQTT out.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <fstream>

#include "daemon/admin_daemon.h"
#include "daemon/admin_server.h"
#include "daemon/commands.h"
#include "daemon/config.h"
#include "daemon/engine_worker.h"
#include "daemon/ingest.h"
#include "daemon/log_tools.h"
#include "daemon/outbox_limit.h"
#include "daemon/publisher.h"
#include "daemon/reload.h"
#include "daemon/sd_notify.h"
#include "daemon/table_feed.h"
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

int run_daemon(const std::string& config_path) {
    Diagnostics diags;
    auto cfg = load_config(config_path, diags);
    if (!cfg) {
        for (const auto& d : diags.items()) std::fprintf(stderr, "%s\n", d.to_string().c_str());
        return 1;
    }
    spdlog::set_level(spdlog::level::from_str(cfg->log.level));
    apply_log_format(cfg->log.format);
    size_t rule_files = 0;
    std::vector<std::string> rule_errors;
    RuleSetPtr rules = load_rules_for(*cfg, rule_errors, rule_files);
    for (const auto& e : rule_errors) spdlog::error("{}", e);
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
    auto log = EventLog::open(log_options_for(*cfg, false), &err);
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
    wopt.checkpoint_interval_ms = cfg->engine.checkpoint_interval_ms;  // alerts do not wait for it (docs/state.md)
    // Reference tables (docs/tables.md): fed from MQTT and files, read by the workers.
    std::unique_ptr<TableStore> tables;
    std::unique_ptr<TableFeeder> table_feeder;
    if (!cfg->tables.empty()) {
        tables = TableStore::open(tables_dir(*cfg), cfg->map_size, false, &err);
        if (!tables) {
            spdlog::error("{}", err);
            return 1;
        }
        wopt.tables = tables.get();
        table_feeder = std::make_unique<TableFeeder>(*tables, cfg->tables, mqtt_options(cfg->mqtt));
        if (!table_feeder->start(&err)) {
            spdlog::error("tables: {}", err);
            return 1;
        }
    }
    // alerts.max_outbox / alerts.on_full (docs/operations.md "The outbox").
    OutboxLimit outbox_limit(*log, cfg->alerts.max_outbox, cfg->alerts.on_full);
    wopt.admit = [&outbox_limit](std::chrono::milliseconds wait, uint64_t in_flight) {
        return outbox_limit.admit(wait, in_flight);
    };
    std::vector<std::unique_ptr<EngineWorker>> workers;
    for (uint32_t w = 0; w < nworkers; ++w) {
        std::vector<uint32_t> parts;
        for (uint32_t p = w; p < cfg->partitions; p += nworkers) parts.push_back(p);
        workers.push_back(std::make_unique<EngineWorker>(*log, parts, rules, cfg->streams, clock, wopt));
    }

    SinkContext sctx;
    sctx.mqtt = mqtt_options(cfg->mqtt);
    Publisher publisher(*log, *find_sink_plugin("mqtt"), sctx, &outbox_limit);
    if (!publisher.start(&err)) {
        spdlog::error("alerts: {}", err);
        return 1;
    }
    for (auto& w : workers) w->start();

    Ingest ingest(*log);
    StreamCounters stream_counters(cfg->streams);
    SourceContext src;
    src.streams = cfg->streams;
    src.mqtt = mqtt_options(cfg->mqtt);
    src.connections = cfg->mqtt.connections;
    src.ingest = [&ingest, &stream_counters](const StreamSpec& s, std::string_view topic, std::string_view payload) {
        stream_counters.count(s.name);
        ingest.on_message(s, topic, payload);
    };
    auto source = find_source_plugin("mqtt")->create(src);
    if (!source->start(&err)) {
        spdlog::error("mqtt: {}", err);
        return 1;
    }
    // Hot reload (docs/reload.md): SIGHUP, the rules-folder watcher and POST /api/v1/reload
    // all go through the controller; the admin API reads the rules and reload status from it.
    ReloadController reloader(*cfg, rules, [&workers](RuleSetPtr next) {
        for (auto& w : workers) w->swap_rules(next);
    });
    auto reload_now = [&](ReloadTrigger trigger) -> AdminReloadResult {
        sd_notify_send(sd_reloading_message());
        ReloadOutcome o = reloader.reload(trigger);
        AdminReloadResult out;
        out.ok = o.ok;
        out.rules = o.rules;
        out.errors = o.errors;
        for (const auto& r : o.refused) out.errors.push_back("not reloadable without a restart: " + r);
        out.message = o.ok ? "reloaded " + std::to_string(o.rules) + " rules from " + std::to_string(o.files) + " files"
                           : "the new rules have errors; the running rules stay";
        sd_notify_send("READY=1\nSTATUS=running");
        return out;
    };
    if (!reloader.start_watcher(&err)) spdlog::warn("reload: no folder watcher ({}); SIGHUP still reloads", err);

    std::atomic<bool> ready{false};
    DaemonView view;
    view.cfg = &*cfg;
    view.log = log.get();
    view.ingest = &ingest;
    view.workers = &workers;
    view.publisher = &publisher;
    view.source = [&source] { return static_cast<const Source*>(source.get()); };
    view.streams = &stream_counters;
    view.reloader = &reloader;
    view.reload = [&] { return reload_now(ReloadTrigger::Api); };
    view.ready = &ready;
    AdminServer admin({cfg->admin.listen, cfg->admin.token}, make_admin_callbacks(view));
    if (!admin.start(&err)) {
        spdlog::error("{}", err);
        return 1;
    }
    ready = true;
    spdlog::info("ready: {} rules from {} files, {} partitions in {}, {} worker(s), broker {}:{}", rules->rules.size(),
                 rule_files, cfg->partitions, cfg->data_dir, nworkers, cfg->mqtt.host, cfg->mqtt.port);
    if (std::string why; !sd_notify_send("READY=1\nSTATUS=running", &why) && !why.empty())
        spdlog::warn("systemd notify: {}", why);
    int64_t watchdog_ms = sd_watchdog_interval_ms();
    auto last_watchdog = std::chrono::steady_clock::now();

    for (;;) {
        timespec timeout{0, 50'000'000};
        int sig = sigtimedwait(&sigs, nullptr, &timeout);
        if (sig == SIGINT || sig == SIGTERM) {
            spdlog::info("signal {}: draining", sig == SIGINT ? "SIGINT" : "SIGTERM");
            sd_notify_send("STOPPING=1");
            break;
        }
        if (sig == SIGHUP) reload_now(ReloadTrigger::Signal);
        if (watchdog_ms > 0 && std::chrono::steady_clock::now() - last_watchdog >= std::chrono::milliseconds(watchdog_ms)) {
            sd_notify_send("WATCHDOG=1");
            last_watchdog = std::chrono::steady_clock::now();
        }
    }

    // Stop taking events, finish what was stored, publish what we can, close.
    reloader.stop_watcher();
    admin.stop();
    ingest.request_stop();
    source->stop();
    if (table_feeder) table_feeder->stop();
    for (auto& w : workers) w->stop();
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
