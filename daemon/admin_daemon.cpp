#include "daemon/admin_daemon.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "daemon/config.h"
#include "daemon/engine_worker.h"
#include "daemon/ingest.h"
#include "daemon/metrics.h"
#include "daemon/outbox_limit.h"
#include "daemon/publisher.h"
#include "daemon/reload.h"
#include "plugins/plugin.h"
#include "rules/json.h"
#include "storage/log.h"

namespace vigil {

StreamCounters::StreamCounters(const std::vector<StreamSpec>& streams) {
    for (const auto& s : streams) counts_[s.name];
}

void StreamCounters::count(const std::string& stream) {
    auto it = counts_.find(stream);
    if (it != counts_.end()) it->second.fetch_add(1, std::memory_order_relaxed);
    else other_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::pair<std::string, uint64_t>> StreamCounters::snapshot() const {
    std::vector<std::pair<std::string, uint64_t>> out;
    for (const auto& [name, n] : counts_) out.emplace_back(name, n.load());
    std::sort(out.begin(), out.end());
    return out;
}

namespace {

constexpr auto kInspectTimeout = std::chrono::milliseconds(2000);

void declare_all(MetricsRegistry& m) {
    using T = MetricType;
    m.declare("vigil_up", T::Gauge, "1 while the daemon runs");
    m.declare("vigil_ready", T::Gauge, "1 once storage is open and rules are loaded");
    m.declare("vigil_events_received_total", T::Counter, "MQTT messages received, by stream (before validation)");
    m.declare("vigil_events_accepted_total", T::Counter, "events stored in the log");
    m.declare("vigil_events_rejected_total", T::Counter, "events rejected at ingest, by reason");
    m.declare("vigil_events_store_errors_total", T::Counter, "failed attempts to store an event (retried)");
    m.declare("vigil_log_records_appended_total", T::Counter, "records appended to the log, by partition (last offset)");
    m.declare("vigil_consumer_lag_records", T::Gauge, "records stored but not yet committed by the rules, by partition");
    m.declare("vigil_engine_events_processed_total", T::Counter, "log records processed by the engine workers");
    m.declare("vigil_engine_late_events_total", T::Counter, "events older than their stream's watermark");
    m.declare("vigil_engine_bad_records_total", T::Counter, "log records that did not parse");
    m.declare("vigil_engine_commit_errors_total", T::Counter, "failed checkpoints (retried)");
    m.declare("vigil_rule_events_total", T::Counter, "events delivered to a rule, by rule");
    m.declare("vigil_rule_evaluations_total", T::Counter, "rule evaluations, by rule");
    m.declare("vigil_rule_matches_total", T::Counter, "rule matches, by rule");
    m.declare("vigil_rule_errors_total", T::Counter, "rule errors (key, expression, Lua), by rule");
    m.declare("vigil_rule_late_events_total", T::Counter, "late events a rule could not use, by rule");
    m.declare("vigil_rule_dropped_partial_matches_total", T::Counter, "partial matches dropped at limits, by rule");
    m.declare("vigil_rule_dropped_keys_total", T::Counter, "keys dropped at max_keys, by rule");
    m.declare("vigil_rule_keys", T::Gauge, "keys with live state, by rule");
    m.declare("vigil_rule_state_bytes", T::Gauge, "approximate bytes of rule state, by rule");
    m.declare("vigil_rule_enabled", T::Gauge, "1 when the rule runs, 0 when disabled, by rule");
    m.declare("vigil_alerts_raised_total", T::Counter, "alerts committed to the outbox");
    m.declare("vigil_alerts_sent_total", T::Counter, "alerts handed to the sink");
    m.declare("vigil_alerts_delivered_total", T::Counter, "alerts acknowledged by the sink (PUBACK)");
    m.declare("vigil_alerts_pending", T::Gauge, "alerts in the outbox not yet delivered (the outbox depth)");
    m.declare("vigil_alerts_outbox_max", T::Gauge, "alerts.max_outbox: the bound on the outbox");
    m.declare("vigil_alerts_publish_failures_total", T::Counter, "alerts the sink refused (kept and sent again)");
    m.declare("vigil_alerts_sink_reconnects_total", T::Counter, "reconnections of the alert sink to the broker");
    m.declare("vigil_alerts_dropped_total", T::Counter, "alerts removed from the outbox unpublished, by reason");
    m.declare("vigil_alerts_outbox_blocked", T::Gauge, "1 while the rules wait for room in a full outbox");
    m.declare("vigil_alerts_outbox_blocked_seconds_total", T::Counter,
              "time the rules waited for room in a full outbox (alerts.on_full: block)");
    m.declare("vigil_storage_map_size_bytes", T::Gauge, "LMDB map size");
    m.declare("vigil_storage_used_bytes", T::Gauge, "LMDB pages in use");
    m.declare("vigil_storage_map_used_ratio", T::Gauge, "used / map size");
    m.declare("vigil_storage_map_resizes_total", T::Counter, "map grows since start");
    m.declare("vigil_storage_readers_used", T::Gauge, "LMDB reader slots in use");
    m.declare("vigil_storage_retention_deleted_total", T::Counter, "records deleted by retention since start");
    m.declare("vigil_storage_log_bytes", T::Gauge, "bytes of a partition's log and time index, by partition");
    m.declare("vigil_mqtt_connected", T::Gauge, "1 when connected to the broker, by role (source, sink)");
    m.declare("vigil_mqtt_reconnects_total", T::Counter, "reconnect attempts of the source connection");
    m.declare("vigil_config_reloads_total", T::Counter, "rule reloads, by result");
    m.declare("vigil_config_last_reload_successful", T::Gauge, "1 when the last reload succeeded");
    m.declare("vigil_config_last_reload_success_timestamp_seconds", T::Gauge, "unix time of the last good reload");
}

}  // namespace

std::string render_daemon_metrics(const DaemonView& v) {
    MetricsRegistry m;
    declare_all(m);
    m.set("vigil_up", {}, 1);
    m.set("vigil_ready", {}, v.ready && v.ready->load() ? 1 : 0);
    if (v.streams)
        for (const auto& [name, n] : v.streams->snapshot())
            m.set("vigil_events_received_total", {{"stream", name}}, static_cast<double>(n));
    if (v.ingest) {
        m.set("vigil_events_accepted_total", {}, static_cast<double>(v.ingest->accepted()));
        for (int r = 1; r <= static_cast<int>(RejectReason::BadTime); ++r) {
            auto reason = static_cast<RejectReason>(r);
            m.set("vigil_events_rejected_total", {{"reason", reject_reason_name(reason)}},
                  static_cast<double>(v.ingest->rejected(reason)));
        }
        m.set("vigil_events_store_errors_total", {}, static_cast<double>(v.ingest->store_errors()));
    }
    if (v.log) {
        for (uint32_t p = 0; p < v.log->partitions(); ++p) {
            std::string part = std::to_string(p);
            uint64_t last = v.log->last_offset(p);
            uint64_t done = v.log->consumer_offset("live", p).value_or(0);
            m.set("vigil_log_records_appended_total", {{"partition", part}}, static_cast<double>(last));
            m.set("vigil_consumer_lag_records", {{"partition", part}}, static_cast<double>(last > done ? last - done : 0));
            PartitionStats ps;
            if (v.log->stats(p, ps).ok) m.set("vigil_storage_log_bytes", {{"partition", part}}, static_cast<double>(ps.bytes));
        }
        MapInfo mi = v.log->map_info();
        m.set("vigil_storage_map_size_bytes", {}, static_cast<double>(mi.map_size));
        m.set("vigil_storage_used_bytes", {}, static_cast<double>(mi.used_bytes));
        m.set("vigil_storage_map_used_ratio", {}, mi.map_size ? static_cast<double>(mi.used_bytes) / mi.map_size : 0);
        m.set("vigil_storage_map_resizes_total", {}, mi.map_grows);
        m.set("vigil_storage_readers_used", {}, mi.readers_used);
        m.set("vigil_storage_retention_deleted_total", {}, static_cast<double>(mi.retention_deleted));
        m.set("vigil_alerts_pending", {}, static_cast<double>(v.log->outbox_size()));
    }
    if (v.workers) {
        WorkerStats total;
        std::vector<RuleStats> rules;
        for (const auto& w : *v.workers) {
            WorkerStats s = w->stats();
            total.events += s.events;
            total.alerts += s.alerts;
            total.late_events += s.late_events;
            total.bad_records += s.bad_records;
            total.commit_errors += s.commit_errors;
            for (auto& r : w->rule_stats()) rules.push_back(std::move(r));
        }
        m.set("vigil_engine_events_processed_total", {}, static_cast<double>(total.events));
        m.set("vigil_engine_late_events_total", {}, static_cast<double>(total.late_events));
        m.set("vigil_engine_bad_records_total", {}, static_cast<double>(total.bad_records));
        m.set("vigil_engine_commit_errors_total", {}, static_cast<double>(total.commit_errors));
        m.set("vigil_alerts_raised_total", {}, static_cast<double>(total.alerts));
        for (const auto& r : rules) {
            MetricLabels l{{"rule", r.rule}};
            m.add("vigil_rule_events_total", l, static_cast<double>(r.events));
            m.add("vigil_rule_evaluations_total", l, static_cast<double>(r.counters.evaluations));
            m.add("vigil_rule_matches_total", l, static_cast<double>(r.counters.matches));
            m.add("vigil_rule_errors_total", l, static_cast<double>(r.counters.errors));
            m.add("vigil_rule_late_events_total", l, static_cast<double>(r.counters.late_events));
            m.add("vigil_rule_dropped_partial_matches_total", l, static_cast<double>(r.counters.dropped_partial_matches));
            m.add("vigil_rule_dropped_keys_total", l, static_cast<double>(r.counters.dropped_keys));
            m.add("vigil_rule_keys", l, static_cast<double>(r.keys));
            m.add("vigil_rule_state_bytes", l, static_cast<double>(r.state_bytes));
        }
        if (v.reloader && !v.workers->empty()) {
            if (RuleSetPtr set = v.reloader->rules())
                for (const auto& r : set->rules)
                    m.set("vigil_rule_enabled", {{"rule", r->id}},
                          r->enabled && v.workers->front()->rule_enabled(r->id) ? 1 : 0);
        }
    }
    if (v.publisher) {
        m.set("vigil_alerts_sent_total", {}, static_cast<double>(v.publisher->sent()));
        m.set("vigil_alerts_delivered_total", {}, static_cast<double>(v.publisher->delivered()));
        m.set("vigil_mqtt_connected", {{"role", "sink"}}, v.publisher->connected() ? 1 : 0);
        m.set("vigil_alerts_publish_failures_total", {}, static_cast<double>(v.publisher->send_failures()));
        m.set("vigil_alerts_sink_reconnects_total", {}, static_cast<double>(v.publisher->reconnects()));
        if (const OutboxLimit* lim = v.publisher->limit()) {
            m.set("vigil_alerts_outbox_max", {}, static_cast<double>(lim->max()));
            m.set("vigil_alerts_dropped_total", {{"reason", "outbox_full"}}, static_cast<double>(lim->dropped()));
            m.set("vigil_alerts_outbox_blocked", {}, lim->blocked() ? 1 : 0);
            m.set("vigil_alerts_outbox_blocked_seconds_total", {}, lim->blocked_seconds());
        }
    }
    const Source* src = v.source ? v.source() : nullptr;
    m.set("vigil_mqtt_connected", {{"role", "source"}}, src && src->connected() ? 1 : 0);
    m.set("vigil_mqtt_reconnects_total", {}, src ? static_cast<double>(src->reconnects()) : 0);
    if (v.reloader) {
        ReloadStatus st = v.reloader->status();
        m.set("vigil_config_reloads_total", {{"result", "success"}}, static_cast<double>(st.ok));
        m.set("vigil_config_reloads_total", {{"result", "failure"}}, static_cast<double>(st.failed));
        m.set("vigil_config_last_reload_successful", {}, st.last_ok ? 1 : 0);
        m.set("vigil_config_last_reload_success_timestamp_seconds", {},
              static_cast<double>(st.last_success_ms / 1000));
    }
    return m.render();
}

AdminCallbacks make_admin_callbacks(const DaemonView& v) {
    AdminCallbacks cb;
    cb.metrics = [v] { return render_daemon_metrics(v); };
    cb.ready = [v](std::string& why) {
        if (!v.log) why = "storage is not open";
        else if (!v.ready || !v.ready->load()) why = "starting: rules, workers or source not up yet";
        else return true;
        return false;
    };
    auto current = [v]() -> RuleSetPtr { return v.reloader->rules(); };
    cb.rules = [v, current] {
        std::vector<AdminRuleInfo> out;
        RuleSetPtr set = current();
        if (!set) return out;
        std::map<std::string, std::string> errors;  // file -> its first error at the last failed reload
        for (const auto& e : v.reloader->status().last_errors) errors.emplace(e.substr(0, e.find(':')), e);
        std::vector<RuleStats> stats;
        for (const auto& w : *v.workers) merge_rule_stats(stats, w->rule_stats());
        for (const auto& r : set->rules) {
            AdminRuleInfo i;
            i.id = r->id;
            i.version = r->version;
            i.file = r->pos.file;
            bool api_on = v.workers->empty() || v.workers->front()->rule_enabled(r->id);
            i.status = !r->enabled ? "disabled_in_file" : api_on ? "active" : "disabled";
            if (auto e = errors.find(i.file); e != errors.end()) i.last_error = e->second;
            auto s = std::find_if(stats.begin(), stats.end(), [&](const RuleStats& x) { return x.rule == r->id; });
            if (s != stats.end()) {
                i.events = s->events;
                i.keys = s->keys;
                i.state_bytes = s->state_bytes;
                i.counters = s->counters;
            }
            out.push_back(std::move(i));
        }
        return out;
    };
    cb.reload = v.reload;
    cb.set_rule_enabled = [v, current](const std::string& id, bool enable, std::string& error) {
        RuleSetPtr set = current();
        if (!set || !set->find(id)) {
            error = "unknown rule '" + id + "'";
            return false;
        }
        for (auto& w : *v.workers) w->set_rule_enabled(id, enable);
        spdlog::info("admin: rule {} {}", id, enable ? "enabled" : "disabled");
        return true;
    };
    cb.key_state = [v, current](const std::string& id, const std::string& key,
                                std::string& error) -> std::optional<std::vector<KeyStateView>> {
        RuleSetPtr set = current();
        const Rule* rule = set ? set->find(id) : nullptr;
        if (!rule) {
            error = "unknown rule '" + id + "'";
            return std::nullopt;
        }
        // A rule keyed like its stream keeps the key's state in the key's partition;
        // a re-keyed rule may hold it in any partition.
        auto same_key = [&] {
            if (rule->key.empty()) return true;
            const StreamSpec* s = rule->stream.empty() ? nullptr : v.cfg->stream(rule->stream);
            if (!s || s->key.size() != rule->key.size()) return false;
            for (size_t i = 0; i < s->key.size(); ++i)
                if (s->key[i].text != rule->key[i].text) return false;
            return true;
        };
        std::optional<uint32_t> home;
        if (same_key()) home = v.log->partition_for_key(key);
        std::vector<KeyStateView> out;
        std::mutex out_mu;
        for (auto& w : *v.workers) {
            bool ok = w->inspect(
                [&](uint32_t partition, const PartitionEngine& engine) {
                    if (home && *home != partition) return;
                    KeyStateView kv;
                    kv.partition = partition;
                    const RuleRuntime* rt = engine.runtime(id);
                    kv.description = rt ? rt->describe_key(key) : "rule not running (disabled)";
                    for (const auto& s : v.cfg->streams)
                        if (rule->stream.empty() || rule->stream == s.name)
                            kv.watermarks.emplace_back(s.name, engine.watermark(s.name));
                    kv.buffered = engine.buffered();
                    std::lock_guard lk(out_mu);
                    out.push_back(std::move(kv));
                },
                kInspectTimeout);
            if (!ok) {
                error = "an engine worker did not answer within 2 s (stopping or busy)";
                return std::nullopt;
            }
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.partition < b.partition; });
        return out;
    };
    return cb;
}

namespace {

class JsonMessageFlag : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        std::string s;
        json_escape(s, std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(s.data(), s.data() + s.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};

}  // namespace

void apply_log_format(const std::string& format) {
    if (format != "json") return;
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<JsonMessageFlag>('*').set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":%*})");
    spdlog::set_formatter(std::move(f));
}

}  // namespace vigil
