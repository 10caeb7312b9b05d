// MQTT -> log ingest at QoS 1 against a bare libmosquitto subscriber, on the same
// real broker (127.0.0.1, ephemeral port) in the same run.
//
// Each consumer first creates its persistent session, goes away, and the broker
// queues N events for it; then the consumer connects and the clock runs until it
// has taken all N. So the figure is the consumer's drain rate, not the publisher's.
//   bare:  a QoS 1 subscriber that only counts (acks as soon as on_message returns)
//   vigil: source_mqtt -> Ingest (key/time extraction) -> EventLog group commit,
//          PUBACK after the commit; with 1 and with 4 connections ($share group)
// Target: vigil >= 80% of the bare rate.
//   bench_ingest [--events N]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/workload.h"
#include "daemon/ingest.h"
#include "plugins/plugin.h"
#include "storage/log.h"
#include "support/harness.h"

using namespace vigil;
using Clock = std::chrono::steady_clock;

namespace {

void fill_queue(int port, const std::string& topic, const std::vector<std::string>& events) {
    test::Publisher pub(port, "bench-ingest-pub");
    if (!pub.connected()) {
        std::fprintf(stderr, "publisher cannot connect\n");
        std::exit(1);
    }
    for (const auto& e : events)
        while (!pub.publish(topic, e)) std::this_thread::sleep_for(std::chrono::microseconds(100));
    if (!pub.wait_acked(120000)) {
        std::fprintf(stderr, "publisher: not every event acknowledged\n");
        std::exit(1);
    }
}

StreamSpec stream(const std::string& topic) {
    StreamSpec s;
    s.name = "sensors";
    s.topics = {topic};
    FieldPath k;
    FieldPath::parse("device", k, nullptr);
    s.key = {k};
    FieldPath::parse("ts", s.time_field, nullptr);
    return s;
}

double bare_rate(int port, const std::vector<std::string>& events) {
    const std::string topic = "bench/bare";
    std::atomic<size_t> got{0};
    MqttOptions o;
    o.port = port;
    o.client_id = "bench-bare";
    MqttClient::Callbacks cb;
    cb.on_message = [&](std::string_view, std::string_view, bool) { ++got; };
    {
        MqttClient session(o, {{topic, 1}}, cb);  // create the persistent session
        session.start(nullptr);
        session.wait_connected(5000);
        // The subscription is in place once a probe comes back through it.
        test::Publisher probe(port, "bench-ingest-probe");
        probe.connected();
        test::eventually([&] { probe.publish(topic, events.front()); return got.load() > 0; }, 10000);
        session.stop();
    }
    fill_queue(port, topic, events);
    got = 0;
    MqttClient client(o, {{topic, 1}}, cb);
    auto t0 = Clock::now();
    client.start(nullptr);
    test::eventually([&] { return got.load() >= events.size(); }, 300000);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    client.stop();
    return static_cast<double>(got.load()) / s;
}

double vigil_rate(int port, const std::vector<std::string>& events, int connections, const std::string& dir) {
    const std::string topic = "bench/vigil" + std::to_string(connections);
    LogOptions lo;
    lo.dir = dir;
    lo.partitions = 8;
    std::string err;
    auto log = EventLog::open(lo, &err);
    if (!log) {
        std::fprintf(stderr, "log: %s\n", err.c_str());
        std::exit(1);
    }
    Ingest ingest(*log);
    SourceContext ctx;
    ctx.streams = {stream(topic)};
    ctx.mqtt.port = port;
    ctx.mqtt.client_id = "bench-vigil-" + std::to_string(connections);
    ctx.connections = connections;
    ctx.share_group = "bench" + std::to_string(connections);
    ctx.ingest = [&](const StreamSpec& s, std::string_view t, std::string_view p) { ingest.on_message(s, t, p); };
    {
        auto session = find_source_plugin("mqtt")->create(ctx);
        session->start(&err);
        test::eventually([&] { return session->connected(); }, 5000);
        test::Publisher probe(port, "bench-ingest-probe");
        probe.connected();
        test::eventually([&] { probe.publish(topic, events.front()); return ingest.accepted() > 0; }, 10000);
        session->stop();
    }
    const uint64_t probes = ingest.accepted();
    fill_queue(port, topic, events);
    auto source = find_source_plugin("mqtt")->create(ctx);
    auto t0 = Clock::now();
    source->start(&err);
    test::eventually([&] { return ingest.accepted() - probes >= events.size(); }, 300000);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    source->stop();
    return static_cast<double>(ingest.accepted() - probes) / s;
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t n = 100000;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--events") == 0) n = std::strtoull(argv[i + 1], nullptr, 10);
    bench::WorkloadOptions wo;
    wo.events = n;
    auto events = bench::sensor_events(wo);

    test::TempDir dir;
    test::Broker broker(dir);
    if (!broker.start()) {
        std::fprintf(stderr, "cannot start mosquitto\n");
        return 1;
    }
    double bare = bare_rate(broker.port(), events);
    double v1 = vigil_rate(broker.port(), events, 1, dir.file("log1"));
    double v4 = vigil_rate(broker.port(), events, 4, dir.file("log4"));

    std::printf("%-44s %14s %10s %8s\n", "benchmark", "events/s", "target", "ratio");
    std::printf("%-44s %14.0f %10s %8s\n", "bare libmosquitto subscriber, QoS 1", bare, "-", "1.00");
    std::printf("%-44s %14.0f %10s %8.2f\n", "vigil ingest, 1 connection (ack after commit)", v1, ">=0.80", v1 / bare);
    std::printf("%-44s %14.0f %10s %8.2f\n", "vigil ingest, 4 connections ($share)", v4, ">=0.80", v4 / bare);
    std::printf("(%llu events of ~200 bytes, drained from the broker's queue; sync: periodic)\n",
                static_cast<unsigned long long>(n));
    return std::max(v1, v4) >= 0.8 * bare ? 0 : 1;
}
