#pragma once
// Sources and sinks behind one small interface (STYLE.md: a plugin is data plus
// callbacks, registered in one explicit list, plugins/registry.cpp).
//
// A Source delivers raw messages to `SourceContext::ingest`, which returns only
// once the message is durably stored or rejected, so a source that acknowledges
// after ingest returns acknowledges only stored events.
// A Sink publishes alerts and reports each one delivered (for MQTT QoS 1: on
// PUBACK) through `SinkContext::delivered`, so the caller can drop it from the
// outbox. Thread rules: ingest and delivered are called on the plugin's threads.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/mqtt_client.h"
#include "rules/event.h"

namespace vigil {

struct SourceContext {
    std::vector<StreamSpec> streams;
    MqttOptions mqtt;
    int connections = 1;  // > 1: that many clients in one $share group
    std::string share_group = "vigil";
    std::function<void(const StreamSpec& stream, std::string_view topic, std::string_view payload)> ingest;
};

class Source {
public:
    virtual ~Source() = default;
    virtual bool start(std::string* error) = 0;
    virtual void stop() = 0;
    virtual bool connected() const = 0;
    virtual uint64_t reconnects() const = 0;
};

struct OutgoingAlert {
    uint64_t seq = 0;  // outbox sequence, echoed in `delivered`
    std::string topic;
    int qos = 1;
    std::string json;
};

struct SinkContext {
    MqttOptions mqtt;
    std::string file;  // sink_file: path
    std::function<void(uint64_t seq)> delivered;
};

class Sink {
public:
    virtual ~Sink() = default;
    virtual bool start(std::string* error) = 0;
    virtual void stop() = 0;
    // Hands one alert to the sink; false when it cannot take it now (disconnected):
    // the caller keeps it and retries later.
    virtual bool send(const OutgoingAlert& alert) = 0;
    virtual bool connected() const = 0;
    // Alerts handed over and not yet delivered.
    virtual size_t in_flight() const = 0;
    // Connections made so far (0 for a sink without one): a change tells the
    // caller that alerts in flight before it will never be confirmed.
    virtual uint64_t sessions() const { return 0; }
};

struct SourcePlugin {
    const char* name;
    const char* description;
    std::unique_ptr<Source> (*create)(const SourceContext& ctx);
};

struct SinkPlugin {
    const char* name;
    const char* description;
    std::unique_ptr<Sink> (*create)(const SinkContext& ctx);
};

// The built-in plugins, in one explicit list.
const std::vector<SourcePlugin>& source_plugins();
const std::vector<SinkPlugin>& sink_plugins();
const SourcePlugin* find_source_plugin(std::string_view name);
const SinkPlugin* find_sink_plugin(std::string_view name);

}  // namespace vigil
