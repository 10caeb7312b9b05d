// Good configs parse into the expected structs (SPEC 2).
#include <doctest/doctest.h>

#include "daemon/config.h"

using namespace vigil;

namespace {
const char* kSpecExample = R"(data_dir: /var/lib/vigil          # LMDB environment lives here
partitions: 8
mqtt:
  host: 127.0.0.1
  port: 1883
  client_id: vigil-gw1
  username: gw
  password_file: secrets/mqtt.pw
  tls: { ca_file: ca.pem, cert_file: /etc/ssl/c.pem, key_file: /etc/ssl/c.key }
  protocol: 5
  keepalive: 1m
  connections: 4
  session_expiry: 1d
  receive_maximum: 500
streams:
  sensors:
    topic: factory/+/telemetry
    qos: 1
    key: device
    time:
      field: ts
      format: epoch_ms
      max_out_of_order: 5s
      idle_timeout: 30s
      on_missing: ingest_time
  transactions:
    topic: [bank/tx, "$share/vigil/bank/tx2"]
    key: [card_id, "topic[1]"]
    time: { field: timestamp, format: rfc3339, max_out_of_order: 2s, on_missing: reject }
    max_event_bytes: 64KiB
durability:
  sync: always
  sync_interval: 100ms
retention: { max_age: 7d, max_bytes: 4GiB }
rules: rules
alerts:
  topic: vigil/alerts/{rule}/{key}
  qos: 0
  max_outbox: 5000
admin: { listen: "127.0.0.1:9464", token: s3cret }
log: { level: debug, format: json }
storage: { map_size: 2GiB }
engine: { workers: 2, checkpoint_interval: 500ms, checkpoint_events: 2000 }
tables:
  devices: { topic: "factory/+/profile", key: device }
  cards:   { file: data/cards.jsonl, key: card_id, history: 1d }
)";
}  // namespace

TEST_CASE("config: the SPEC example, every section") {
    Diagnostics d;
    auto c = load_config_text(kSpecExample, "etc/vigil/vigil.yaml", d);
    REQUIRE_MESSAGE(c, d.to_string());
    CHECK(d.to_string() == "etc/vigil/vigil.yaml:33:3: warning: \"sync_interval\" has no effect with sync: always\n");
    CHECK(c->file == "etc/vigil/vigil.yaml");
    CHECK(c->data_dir == "/var/lib/vigil");
    CHECK(c->partitions == 8);
    CHECK(c->mqtt.host == "127.0.0.1");
    CHECK(c->mqtt.port == 1883);
    CHECK(c->mqtt.client_id == "vigil-gw1");
    CHECK(c->mqtt.username == "gw");
    CHECK(c->mqtt.password_file == "etc/vigil/secrets/mqtt.pw");
    CHECK(c->mqtt.tls.ca_file == "etc/vigil/ca.pem");
    CHECK(c->mqtt.tls.cert_file == "/etc/ssl/c.pem");
    CHECK(c->mqtt.tls.enabled());
    CHECK(c->mqtt.protocol == 5);
    CHECK(c->mqtt.keepalive_s == 60);
    CHECK(c->mqtt.connections == 4);
    CHECK(c->mqtt.session_expiry_s == 86400);
    CHECK(c->mqtt.receive_maximum == 500);
    REQUIRE(c->streams.size() == 2);
    const StreamSpec* s = c->stream("sensors");
    REQUIRE(s);
    CHECK(s->topics == std::vector<std::string>{"factory/+/telemetry"});
    CHECK(s->qos == 1);
    REQUIRE(s->key.size() == 1);
    CHECK(s->key[0].text == "device");
    CHECK(s->time_field.text == "ts");
    CHECK(s->time_format == TimeFormat::EpochMs);
    CHECK(s->max_out_of_order_ms == 5000);
    CHECK(s->idle_timeout_ms == 30000);
    CHECK(s->on_missing == OnMissingTime::IngestTime);
    const StreamSpec* t = c->stream("transactions");
    REQUIRE(t);
    CHECK(t->topics.size() == 2);
    REQUIRE(t->key.size() == 2);
    CHECK(t->key[1].topic_segment == 1);
    CHECK(t->time_format == TimeFormat::Rfc3339);
    CHECK(t->on_missing == OnMissingTime::Reject);
    CHECK(t->max_event_bytes == 64 * 1024);
    CHECK(c->durability.sync == SyncMode::Always);
    CHECK(c->retention.max_age_ms == 7LL * 86'400'000);
    CHECK(c->retention.max_bytes == 4ULL << 30);
    CHECK(c->rules == "etc/vigil/rules");
    CHECK(c->alerts.qos == 0);
    CHECK(c->alerts.max_outbox == 5000);
    CHECK(c->admin.listen == "127.0.0.1:9464");
    CHECK(c->admin.token == "s3cret");
    CHECK(c->log.level == "debug");
    CHECK(c->log.format == "json");
    CHECK(c->map_size == 2ULL << 30);
    CHECK(c->engine.workers == 2);
    CHECK(c->engine.checkpoint_interval_ms == 500);
    CHECK(c->engine.checkpoint_events == 2000);
    REQUIRE(c->tables.size() == 2);
    CHECK(c->tables[0].name == "devices");
    CHECK(c->tables[0].topic == "factory/+/profile");
    CHECK(c->tables[1].file == "etc/vigil/data/cards.jsonl");
    CHECK(c->tables[1].history_ms == 86'400'000);
    REQUIRE(c->tables[1].key.size() == 1);
}

TEST_CASE("config: defaults and MQTT 3.1.1") {
    Diagnostics d;
    auto c = load_config_text("streams:\n  s: {topic: a}\nmqtt: {protocol: 3.1.1}\n", "vigil.yaml", d);
    REQUIRE_MESSAGE(c, d.to_string());
    CHECK(c->mqtt.protocol == 4);
    CHECK(c->partitions == 8);
    CHECK(c->mqtt.port == 1883);
    CHECK(c->durability.sync == SyncMode::Periodic);
    CHECK(c->alerts.topic == "vigil/alerts/{rule}/{key}");
    CHECK(c->streams[0].key.empty());
    CHECK(c->streams[0].time_field.parts.empty());
    CHECK(c->rules == "");
}

TEST_CASE("config: warnings do not fail the load") {
    Diagnostics d;
    auto c = load_config_text("partitions: 4\n", "vigil.yaml", d);
    REQUIRE(c);
    CHECK(d.to_string() == "vigil.yaml:1:1: warning: no streams: \"vigil run\" will not ingest any event\n");
}
