#pragma once
// What every runtime does when it raises an alert: fill the rule's fields,
// render `emit.payload` and `emit.topic`, assign the deterministic id, and apply
// `emit.throttle` per key.
#include <cstdint>
#include <string>
#include <unordered_map>

#include "patterns/alert.h"
#include "rules/expr.h"
#include "rules/rule.h"

namespace vigil {

// Sets rule, version, severity, qos, topic (from emit.topic, "" when the rule has
// none), payload_json (emit.payload evaluated in `ctx`) and the id. The caller has
// filled kind, key, time, events and, for windows, window and values_json.
void finish_alert(const Rule& rule, Alert& alert, const EvalContext& ctx, int64_t detected_at);

// `emit.throttle`: at most one alert per key per interval of event time.
class Throttle {
public:
    explicit Throttle(int64_t interval_ms) : interval_ms_(interval_ms) {}
    // True when an alert for `key` at event time `time` may go out (and records it).
    bool allow(const std::string& key, int64_t time);
    size_t size() const { return last_.size(); }
    // Checkpoints: the last alert time recorded for `key` (false: none), and setting it.
    bool last(const std::string& key, int64_t& time) const {
        auto it = last_.find(key);
        if (it == last_.end()) return false;
        time = it->second;
        return true;
    }
    void set_last(const std::string& key, int64_t time) {
        if (interval_ms_ > 0) last_[key] = time;
    }

private:
    int64_t interval_ms_;
    std::unordered_map<std::string, int64_t> last_;
};

}  // namespace vigil
