// The alert outbox against a broker that goes away (issue 7, test 4(b)): the real
// vigil binary, a real mosquitto stopped and restarted on the same port, real LMDB.
// A backlog that raises alerts is processed while the broker is down; once it is
// back every alert reaches a subscriber with a persistent session, and the set of
// alert ids it saw is the alert store's. With a tiny alerts.max_outbox, `block`
// holds the rules back and loses nothing, `drop_oldest` counts what it dropped.
#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "rules/json.h"
#include "storage/log.h"
#include "support/harness.h"

using namespace vigil;
using namespace vigil::test;

namespace {

const char* kRule = R"(rule: large-payment
stream: tx
key: card_id
severity: medium
pattern:
  - name: tx
    where: amount >= 5000
emit:
  payload: { amount: tx.amount }
)";

std::string config(int mqtt_port, int admin_port, const TempDir& dir, uint32_t partitions, const std::string& alerts) {
    return "data_dir: " + dir.file("data") + "\npartitions: " + std::to_string(partitions) +
           "\nmqtt: { host: 127.0.0.1, port: " + std::to_string(mqtt_port) + ", client_id: vigil-outbox-test }\n" +
           "streams:\n  tx:\n    topic: bank/tx\n    qos: 1\n    key: card_id\n"
           "    time: { field: ts, format: epoch_ms, max_out_of_order: 0s, idle_timeout: 1s }\n"
           "retention: { max_age: 3650d }\n"
           "rules: " + dir.file("rules") + "\n" +
           "alerts: { topic: \"vigil/alerts/{rule}/{key}\", qos: 1" + alerts + " }\n" +
           "admin: { listen: 127.0.0.1:" + std::to_string(admin_port) + " }\n" + "log: { level: info }\n";
}

int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// `n` payments over 50 cards; every `every`-th is large (raises one alert).
// Returns how many alerts they raise.
int write_backlog(const TempDir& dir, const std::string& name, int n, int every) {
    std::ofstream out(dir.file(name));
    int64_t t0 = now_ms() - 600'000;
    int alerts = 0;
    for (int i = 0; i < n; ++i) {
        bool large = i % every == every - 1;
        alerts += large;
        out << R"({"card_id":"c-)" << i % 50 << R"(","amount":)" << (large ? 7000 : 12) << R"(,"ts":)" << t0 + i
            << "}\n";
    }
    return alerts;
}

// A subscriber with a persistent session (fixed client id, clean_session=false)
// that records the id of every alert it receives.
class AlertSubscriber {
public:
    explicit AlertSubscriber(int port) {
        MqttOptions o;
        o.port = port;
        o.client_id = "outbox-test-subscriber";
        o.clean_session = false;
        o.backoff_min_ms = 100;
        o.backoff_max_ms = 300;
        MqttClient::Callbacks cb;
        cb.on_message = [this](std::string_view, std::string_view payload, bool) {
            JsonDoc doc;
            std::string id = doc.parse(payload) ? std::string(doc.root()["id"].as_string()) : "?";
            std::lock_guard lk(mu_);
            ids_.insert(id);
            ++messages_;
        };
        client_ = std::make_unique<MqttClient>(o, std::vector<MqttSubscription>{{"vigil/alerts/#", 1}}, cb);
        std::string err;
        REQUIRE_MESSAGE(client_->start(&err), err);
        REQUIRE(client_->wait_connected(5000));
    }
    std::set<std::string> ids() const {
        std::lock_guard lk(mu_);
        return ids_;
    }
    size_t messages() const {
        std::lock_guard lk(mu_);
        return messages_;
    }

private:
    std::unique_ptr<MqttClient> client_;
    mutable std::mutex mu_;
    std::set<std::string> ids_;
    size_t messages_ = 0;
};

// The daemon, with its admin API on admin_port.
struct Vigil : Daemon {
    const TempDir& dir;
    int admin_port;
    Vigil(const TempDir& d, int admin) : Daemon(d), dir(d), admin_port(admin) {}
    // `vigil ingest` of a JSONL file into the running daemon's log.
    bool ingest(const std::string& file) {
        ChildProcess p;
        return p.start({VIGIL_BINARY, "ingest", "-c", dir.file("vigil.yaml"), file}, dir.file("ingest.out"),
                       dir.file("ingest.err")) &&
               p.wait(60000) == 0;
    }
    std::string metrics() const { return admin_metrics(admin_port); }
    double metric(const std::string& series) const { return admin_metric(admin_port, series); }
};

std::set<std::string> alert_store_ids(const TempDir& dir, uint32_t partitions) {
    LogOptions o;
    o.dir = dir.file("data");
    o.partitions = partitions;
    o.read_only = true;
    std::string err;
    auto log = EventLog::open(o, &err);
    REQUIRE_MESSAGE(log, err);
    std::set<std::string> ids;
    REQUIRE(log->alerts_scan(INT64_MIN, INT64_MAX, [&](int64_t, std::string_view id, std::string_view) {
                    ids.emplace(id);
                    return true;
                }).ok);
    return ids;
}

int outage_seconds() {
    const char* env = std::getenv("VIGIL_TEST_OUTAGE_S");  // 30 s unless told (issue 7, test 4(b))
    return env ? std::max(1, std::atoi(env)) : 30;
}

}  // namespace

TEST_CASE("outbox: the broker is down for 30 s while a backlog raises alerts, every alert arrives once it is back") {
    TempDir dir;
    Broker broker(dir);
    broker.set_persistent(true);
    REQUIRE(broker.start());
    int admin_port = free_port();
    dir.write("rules/large.yaml", kRule);
    dir.write("vigil.yaml", config(broker.port(), admin_port, dir, 2, ""));
    int expected = write_backlog(dir, "backlog.jsonl", 4000, 4);  // 1000 alerts

    AlertSubscriber sub(broker.port());
    Vigil vigil(dir, admin_port);
    REQUIRE_MESSAGE(vigil.start(), vigil.log());
    REQUIRE(eventually([&] { return vigil.metric("vigil_mqtt_connected{role=\"sink\"}") == 1; }, 10000));

    auto down_at = std::chrono::steady_clock::now();
    broker.stop();
    REQUIRE(vigil.ingest(dir.file("backlog.jsonl")));
    // Processed while the broker is away: every alert waits in the outbox.
    REQUIRE_MESSAGE(eventually([&] { return vigil.metric("vigil_alerts_pending") == expected; }, 20000),
                    vigil.metrics());
    CHECK(vigil.metric("vigil_mqtt_connected{role=\"sink\"}") == 0);
    CHECK(vigil.metric("vigil_alerts_delivered_total") == 0);
    CHECK(sub.messages() == 0);
    std::this_thread::sleep_until(down_at + std::chrono::seconds(outage_seconds()));  // the outage itself
    REQUIRE(vigil.proc.running());

    auto up_at = std::chrono::steady_clock::now();
    REQUIRE(broker.start());  // same port, sessions restored
    REQUIRE_MESSAGE(eventually([&] { return sub.ids().size() >= static_cast<size_t>(expected); }, 30000),
                    "received " << sub.ids().size() << " of " << expected << "\n" << vigil.log());
    MESSAGE("all alerts delivered " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - up_at).count()
                                    << " ms after the broker came back");
    REQUIRE(eventually([&] { return vigil.metric("vigil_alerts_pending") == 0; }, 10000));
    CHECK(vigil.metric("vigil_alerts_delivered_total") >= expected);
    CHECK(vigil.metric("vigil_alerts_sink_reconnects_total") >= 1);
    CHECK(vigil.metric("vigil_alerts_dropped_total{reason=\"outbox_full\"}") == 0);

    // The subscriber saw exactly the alerts in the alert store (duplicates only repeat ids).
    std::set<std::string> stored = alert_store_ids(dir, 2);
    CHECK(stored.size() == static_cast<size_t>(expected));
    CHECK(sub.ids() == stored);
    CHECK(sub.messages() >= stored.size());

    vigil.proc.signal(SIGTERM);
    CHECK(vigil.proc.wait(10000) == 0);
}

TEST_CASE("outbox: a tiny max_outbox with the broker down, block holds the rules back and loses nothing") {
    TempDir dir;
    Broker broker(dir);
    broker.set_persistent(true);
    REQUIRE(broker.start());
    int admin_port = free_port();
    dir.write("rules/large.yaml", kRule);
    dir.write("vigil.yaml", config(broker.port(), admin_port, dir, 1, ", max_outbox: 5, on_full: block"));
    int expected = write_backlog(dir, "backlog.jsonl", 6000, 10);  // 600 alerts, ~100 per read batch

    AlertSubscriber sub(broker.port());
    Vigil vigil(dir, admin_port);
    REQUIRE_MESSAGE(vigil.start(), vigil.log());
    REQUIRE(eventually([&] { return vigil.metric("vigil_mqtt_connected{role=\"sink\"}") == 1; }, 10000));
    broker.stop();
    REQUIRE(vigil.ingest(dir.file("backlog.jsonl")));

    // The rules stop reading the log once the outbox is full; the events wait there.
    // The bound counts the alerts of the commit in flight too, so the worker can be
    // blocked a moment before that commit puts them in the outbox: wait for both.
    REQUIRE_MESSAGE(eventually([&] {
                        return vigil.metric("vigil_alerts_outbox_blocked") == 1 &&
                               vigil.metric("vigil_alerts_pending") >= 5;
                    }, 20000),
                    vigil.metrics());
    double pending = vigil.metric("vigil_alerts_pending");
    CHECK(pending >= 5);
    CHECK(pending <= 5 + 1024 / 10 + 1);  // at most one read batch beyond the bound
    CHECK(vigil.metric("vigil_engine_events_processed_total") < 6000);  // the rest waits in the log
    CHECK(vigil.metric("vigil_alerts_raised_total") < expected);
    CHECK(vigil.metric("vigil_alerts_outbox_max") == 5);

    REQUIRE(broker.start());
    REQUIRE_MESSAGE(eventually([&] { return sub.ids().size() >= static_cast<size_t>(expected); }, 60000),
                    "received " << sub.ids().size() << " of " << expected << "\n" << vigil.metrics());
    REQUIRE(eventually([&] { return vigil.metric("vigil_alerts_pending") == 0; }, 10000));
    CHECK(vigil.metric("vigil_alerts_dropped_total{reason=\"outbox_full\"}") == 0);
    CHECK(vigil.metric("vigil_alerts_outbox_blocked") == 0);
    CHECK(vigil.metric("vigil_alerts_outbox_blocked_seconds_total") > 0);
    CHECK(vigil.metric("vigil_engine_events_processed_total") == 6000);
    CHECK(sub.ids() == alert_store_ids(dir, 1));

    vigil.proc.signal(SIGTERM);
    CHECK(vigil.proc.wait(10000) == 0);
}

TEST_CASE("outbox: a tiny max_outbox with the broker down, drop_oldest keeps going and counts every drop") {
    TempDir dir;
    Broker broker(dir);
    broker.set_persistent(true);
    REQUIRE(broker.start());
    int admin_port = free_port();
    dir.write("rules/large.yaml", kRule);
    dir.write("vigil.yaml", config(broker.port(), admin_port, dir, 1, ", max_outbox: 5, on_full: drop_oldest"));
    int expected = write_backlog(dir, "backlog.jsonl", 6000, 10);  // 600 alerts

    AlertSubscriber sub(broker.port());
    Vigil vigil(dir, admin_port);
    REQUIRE_MESSAGE(vigil.start(), vigil.log());
    REQUIRE(eventually([&] { return vigil.metric("vigil_mqtt_connected{role=\"sink\"}") == 1; }, 10000));
    broker.stop();
    REQUIRE(vigil.ingest(dir.file("backlog.jsonl")));

    // Everything is processed; only the newest 5 alerts wait, the rest were dropped and counted.
    REQUIRE_MESSAGE(eventually([&] {
                        return vigil.metric("vigil_alerts_raised_total") == expected &&
                               vigil.metric("vigil_alerts_pending") == 5;
                    }, 20000),
                    vigil.metrics());
    CHECK(vigil.metric("vigil_alerts_dropped_total{reason=\"outbox_full\"}") == expected - 5);
    CHECK(vigil.metric("vigil_alerts_outbox_blocked") == 0);
    CHECK(vigil.metric("vigil_engine_events_processed_total") == 6000);
    std::set<std::string> stored = alert_store_ids(dir, 1);
    CHECK(stored.size() == static_cast<size_t>(expected));  // dropped alerts stay in the alert store

    REQUIRE(broker.start());
    REQUIRE_MESSAGE(eventually([&] { return sub.ids().size() >= 5; }, 30000), vigil.log());
    REQUIRE(eventually([&] { return vigil.metric("vigil_alerts_pending") == 0; }, 10000));
    std::set<std::string> got = sub.ids();
    CHECK(got.size() == 5);
    for (const auto& id : got) CHECK(stored.count(id) == 1);

    vigil.proc.signal(SIGTERM);
    CHECK(vigil.proc.wait(10000) == 0);
}

TEST_CASE("outbox: alerts are published in outbox order at their rule's QoS and leave the outbox (QoS 0 and 1)") {
    TempDir dir;
    Broker broker(dir);
    REQUIRE(broker.start());
    int admin_port = free_port();
    dir.write("rules/large.yaml", kRule);
    dir.write("rules/tiny.yaml", R"(rule: tiny-payment
stream: tx
key: card_id
pattern:
  - name: tx
    where: amount < 20
emit:
  qos: 0
  payload: { amount: tx.amount }
)");
    dir.write("vigil.yaml", config(broker.port(), admin_port, dir, 1, ""));
    int large = write_backlog(dir, "backlog.jsonl", 2000, 4);  // 500 large (QoS 1), 1500 tiny (QoS 0)
    int tiny = 2000 - large;

    std::mutex mu;
    std::map<std::string, std::vector<double>> times;  // by rule, in arrival order
    MqttOptions o;
    o.port = broker.port();
    o.client_id = "outbox-order-subscriber";
    o.clean_session = true;
    o.receive_maximum = 65535;
    MqttClient::Callbacks cb;
    cb.on_message = [&](std::string_view, std::string_view payload, bool) {
        JsonDoc doc;
        if (!doc.parse(payload)) return;
        std::lock_guard lk(mu);
        times[std::string(doc.root()["rule"].as_string())].push_back(doc.root()["time"].as_number());
    };
    MqttClient sub(o, {{"vigil/alerts/#", 1}}, cb);
    std::string err;
    REQUIRE(sub.start(&err));
    REQUIRE(sub.wait_connected(5000));

    Vigil vigil(dir, admin_port);
    REQUIRE_MESSAGE(vigil.start(), vigil.log());
    REQUIRE(vigil.ingest(dir.file("backlog.jsonl")));
    auto count = [&](const std::string& rule) {
        std::lock_guard lk(mu);
        return times[rule].size();
    };
    REQUIRE_MESSAGE(eventually([&] { return count("large-payment") >= static_cast<size_t>(large) &&
                                            count("tiny-payment") >= static_cast<size_t>(tiny); }, 30000),
                    vigil.metrics());
    REQUIRE(eventually([&] { return vigil.metric("vigil_alerts_pending") == 0; }, 10000));
    CHECK(vigil.metric("vigil_alerts_delivered_total") == large + tiny);
    CHECK(vigil.metric("vigil_alerts_publish_failures_total") == 0);
    std::lock_guard lk(mu);
    for (const auto& [rule, ts] : times) {
        CAPTURE(rule);
        CHECK(std::is_sorted(ts.begin(), ts.end()));  // one partition: outbox order is event-time order
    }
    CHECK(times["large-payment"].size() == static_cast<size_t>(large));  // no reconnect: no repeats
    CHECK(times["tiny-payment"].size() == static_cast<size_t>(tiny));
}
