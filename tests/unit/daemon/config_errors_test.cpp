// Bad configs: each input has exactly one error, asserted with its message and line:col.
#include <doctest/doctest.h>

#include "daemon/config.h"

using namespace vigil;

namespace {

struct Loaded {
    std::optional<Config> config;
    Diagnostics diags;
    std::string errors() const {
        std::string s;
        for (const auto& d : diags.items())
            if (d.severity == Diagnostic::Severity::Error) s += d.to_string() + "\n";
        return s;
    }
};

Loaded load(const std::string& yaml) {
    Loaded l;
    l.config = load_config_text(yaml, "vigil.yaml", l.diags);
    return l;
}

#define STREAMS "streams:\n  s: {topic: a/b}\n"

struct Case {
    const char* name;
    const char* yaml;
    const char* error;
};

const Case kCases[] = {
    {"unknown top-level key", STREAMS "partitons: 8\n",
     "vigil.yaml:3:1: error: unknown key \"partitons\" (did you mean \"partitions\"?)"},
    {"partitions out of range", STREAMS "partitions: 0\n",
     "vigil.yaml:3:13: error: \"partitions\" must be between 1 and 1024, got 0"},
    {"partitions too many", STREAMS "partitions: 2048\n",
     "vigil.yaml:3:13: error: \"partitions\" must be between 1 and 1024, got 2048"},
    {"partitions not a number", STREAMS "partitions: \"8\"\n",
     "vigil.yaml:3:14: error: \"partitions\" must be an integer, got \"8\""},
    {"mqtt unknown key", STREAMS "mqtt:\n  hosts: x\n",
     "vigil.yaml:4:3: error: unknown key \"hosts\" (did you mean \"host\"?)"},
    {"mqtt port range", STREAMS "mqtt: {port: 70000}\n",
     "vigil.yaml:3:14: error: \"port\" must be between 1 and 65535, got 70000"},
    {"mqtt protocol", STREAMS "mqtt: {protocol: 3.1}\n",
     "vigil.yaml:3:18: error: \"protocol\" must be 5 or 3.1.1, got \"3.1\""},
    {"mqtt tls without ca_file", STREAMS "mqtt:\n  tls: {cert_file: c.pem, key_file: k.pem}\n",
     "vigil.yaml:4:8: error: tls is missing required key \"ca_file\""},
    {"mqtt tls cert without key", STREAMS "mqtt:\n  tls: {ca_file: ca.pem, cert_file: c.pem}\n",
     "vigil.yaml:4:8: error: tls: \"cert_file\" and \"key_file\" go together (client certificate and its key)"},
    {"mqtt connections", STREAMS "mqtt: {connections: 0}\n",
     "vigil.yaml:3:21: error: \"connections\" must be between 1 and 64, got 0"},
    {"mqtt keepalive", STREAMS "mqtt: {keepalive: 30}\n",
     "vigil.yaml:3:19: error: \"keepalive\": bad duration \"30\" (use a number and a unit: 500ms, 5s, 10m, 2h, 7d)"},
    {"streams not a map", "streams: [a, b]\n",
     "vigil.yaml:1:10: error: \"streams\" must be a map of stream name: settings, got a list"},
    {"stream without topic", "streams:\n  s: {key: device}\n",
     "vigil.yaml:2:6: error: stream \"s\" is missing required key \"topic\""},
    {"stream unknown key", "streams:\n  s: {topic: a, keys: device}\n",
     "vigil.yaml:2:17: error: unknown key \"keys\" (did you mean \"key\"?)"},
    {"stream bad topic filter", "streams:\n  s: {topic: [ok/+, \"a/#/b\"]}\n",
     "vigil.yaml:2:22: error: bad topic filter \"a/#/b\": '#' must be a whole level and the last one"},
    {"stream bad plus", "streams:\n  s: {topic: a/b+}\n",
     "vigil.yaml:2:14: error: bad topic filter \"a/b+\": '+' must be a whole level"},
    {"stream bad key path", "streams:\n  s: {topic: a, key: \"topic[x]\"}\n",
     "vigil.yaml:2:23: error: bad key \"topic[x]\": topic segment must be topic[N] with N >= 0"},
    {"stream qos", "streams:\n  s: {topic: a, qos: 2.5}\n",
     "vigil.yaml:2:22: error: \"qos\" must be an integer, got \"2.5\""},
    {"stream time format", "streams:\n  s:\n    topic: a\n    time: {field: ts, format: epoch_sec}\n",
     "vigil.yaml:4:31: error: \"format\" must be epoch_ms, epoch_s, epoch_us or rfc3339, got \"epoch_sec\" "
     "(did you mean \"epoch_s\"?)"},
    {"stream time max_out_of_order", "streams:\n  s:\n    topic: a\n    time: {field: ts, max_out_of_order: 5}\n",
     "vigil.yaml:4:41: error: \"max_out_of_order\": bad duration \"5\" (use a number and a unit: 500ms, 5s, 10m, "
     "2h, 7d)"},
    {"stream time on_missing", "streams:\n  s:\n    topic: a\n    time:\n      field: ts\n      on_missing: drop\n",
     "vigil.yaml:6:19: error: \"on_missing\" must be ingest_time or reject, got \"drop\""},
    {"stream name", "streams:\n  \"a b\": {topic: a}\n",
     "vigil.yaml:2:3: error: stream name \"a b\" may only use letters, digits, '-' and '_'"},
    {"durability sync", STREAMS "durability: {sync: sometimes}\n",
     "vigil.yaml:3:20: error: \"sync\" must be periodic or always, got \"sometimes\""},
    {"retention size", STREAMS "retention: {max_bytes: 4GB5}\n",
     "vigil.yaml:3:24: error: \"max_bytes\": bad size \"4GB5\" (use a number and a unit: 512MiB, 4GiB)"},
    {"retention age", STREAMS "retention:\n  max_age: 7 days\n",
     "vigil.yaml:4:12: error: \"max_age\": bad duration \"7 days\" (use a number and a unit: 500ms, 5s, 10m, 2h, 7d)"},
    {"alerts qos", STREAMS "alerts: {qos: -1}\n",
     "vigil.yaml:3:15: error: \"qos\" must be between 0 and 2, got -1"},
    {"alerts max_outbox", STREAMS "alerts: {max_outbox: 0}\n",
     "vigil.yaml:3:22: error: \"max_outbox\" must be between 1 and 1000000000, got 0"},
    {"admin listen", STREAMS "admin: {listen: \"127.0.0.1\"}\n",
     "vigil.yaml:3:18: error: \"listen\" must be HOST:PORT (e.g. 127.0.0.1:9464) or off, got \"127.0.0.1\""},
    {"log level", STREAMS "log: {level: verbose}\n",
     "vigil.yaml:3:14: error: \"level\" must be trace, debug, info, warn, error, critical or off, got \"verbose\""},
    {"log format", STREAMS "log: {format: jsn}\n",
     "vigil.yaml:3:15: error: \"format\" must be text or json, got \"jsn\" (did you mean \"json\"?)"},
    {"storage map_size", STREAMS "storage: {map_size: 1KiB}\n",
     "vigil.yaml:3:21: error: \"map_size\" must be at least 1MiB"},
    {"engine workers", STREAMS "engine: {workers: 0}\n",
     "vigil.yaml:3:19: error: \"workers\" must be between 1 and 256, got 0"},
    {"engine unknown key", STREAMS "engine: {checkpoint: 1s}\n",
     "vigil.yaml:3:10: error: unknown key \"checkpoint\" in engine (known keys: workers, checkpoint_interval, "
     "checkpoint_events)"},
    {"table with topic and file", STREAMS "tables:\n  cards: {file: c.jsonl, topic: x, key: card_id}\n",
     "vigil.yaml:4:10: error: table \"cards\" needs exactly one of \"topic\" and \"file\""},
    {"table without key", STREAMS "tables:\n  cards: {file: c.jsonl}\n",
     "vigil.yaml:4:10: error: table \"cards\" is missing required key \"key\""},
    {"table history", STREAMS "tables:\n  cards: {file: c.jsonl, key: id, histroy: 1d}\n",
     "vigil.yaml:4:35: error: unknown key \"histroy\" (did you mean \"history\"?)"},
    {"not a map", "- a\n- b\n", "vigil.yaml:1:1: error: config must be a map, got a list"},
    {"empty", "", "vigil.yaml:1:1: error: the config file is empty"},
    {"syntax", "mqtt: {host: x\n", "vigil.yaml:2:1: error: YAML syntax: end of map flow not found"},
};

}  // namespace

TEST_CASE("config: each bad config gives exactly one error at the right line:col") {
    for (const Case& c : kCases) {
        SUBCASE(c.name) {
            auto l = load(c.yaml);
            CHECK(l.errors() == std::string(c.error) + "\n");
            CHECK(!l.config);
        }
    }
}

TEST_CASE("config: every problem is reported in one pass") {
    auto l = load("partitons: 8\nmqtt: {port: 0}\nstreams:\n  s: {topic: a, qos: 3}\nlog: {level: loud}\n");
    CHECK(l.diags.error_count() == 4);
}

TEST_CASE("config: a missing file") {
    Diagnostics d;
    CHECK(!load_config("no/such/vigil.yaml", d));
    CHECK(d.to_string() == "no/such/vigil.yaml: error: cannot read the config file: no such file or not readable\n");
}
