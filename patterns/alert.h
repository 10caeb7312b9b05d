#pragma once
// Alerts (SPEC section 6) and the interface runtimes emit them through.
//
// An alert's id is deterministic: a hash of rule id, rule version, kind, key and
// the matched [partition, offset] pairs (for windows: the window bounds), so the
// daemon and a replay of the same log raise the same id for the same match.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rules/event.h"

namespace vigil {

struct Alert {
    std::string id;
    std::string rule;
    std::string version;
    std::string kind;  // match | timeout | window | lua
    std::string key;
    std::string severity;
    int64_t time = 0;         // event time of the last matched event (window end for windows)
    int64_t detected_at = 0;  // wall clock (virtual clock in replay/test)
    std::vector<std::pair<std::string, std::vector<EventPtr>>> events;  // per stage, in stage order
    std::optional<std::pair<int64_t, int64_t>> window;                  // [start, end)
    std::string values_json;   // kind window: {"avg_t": 93.2, ...}
    std::string payload_json;  // emit.payload rendered, "{}" when none
    std::string topic;         // resolved topic; "" = the sink's default template
    int qos = -1;

    // Sets `id` from rule, version, kind, key, offsets and window.
    void assign_id();
    // The alert as one JSON object (SPEC section 6).
    std::string to_json() const;
};

class AlertSink {
public:
    virtual ~AlertSink() = default;
    virtual void emit(Alert&& alert) = 0;
};

// Collects alerts in memory (replay, tests).
class VectorAlertSink : public AlertSink {
public:
    void emit(Alert&& alert) override { alerts.push_back(std::move(alert)); }
    std::vector<Alert> alerts;
};

// Expands {rule}, {key}, {severity}, {kind} in a topic template. Characters that
// MQTT treats specially (+ # /) in substituted values are replaced by '_'.
std::string render_topic(std::string_view tmpl, const Alert& a);

}  // namespace vigil
