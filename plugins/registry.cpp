// The one list of built-in plugins (no static-initializer registration).
#include "plugins/plugin.h"
#include "plugins/sink_mqtt/sink_mqtt.h"
#include "plugins/sink_stdout/sink_stdout.h"
#include "plugins/source_mqtt/source_mqtt.h"

namespace vigil {

const std::vector<SourcePlugin>& source_plugins() {
    static const std::vector<SourcePlugin> list = {
        {"mqtt", "MQTT subscriber: QoS 1, persistent session, ack after commit", &make_source_mqtt},
    };
    return list;
}

const std::vector<SinkPlugin>& sink_plugins() {
    static const std::vector<SinkPlugin> list = {
        {"mqtt", "MQTT publisher: alert QoS, delivered on PUBACK", &make_sink_mqtt},
        {"stdout", "one JSON line per alert on standard output or a file", &make_sink_stdout},
    };
    return list;
}

const SourcePlugin* find_source_plugin(std::string_view name) {
    for (const auto& p : source_plugins())
        if (name == p.name) return &p;
    return nullptr;
}

const SinkPlugin* find_sink_plugin(std::string_view name) {
    for (const auto& p : sink_plugins())
        if (name == p.name) return &p;
    return nullptr;
}

}  // namespace vigil
