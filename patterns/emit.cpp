#include "patterns/emit.h"

#include "rules/json.h"

namespace vigil {

void finish_alert(const Rule& rule, Alert& alert, const EvalContext& ctx, int64_t detected_at) {
    alert.rule = rule.id;
    alert.version = rule.version;
    alert.severity = rule.severity;
    alert.qos = rule.emit.qos;
    alert.detected_at = detected_at;
    if (!rule.emit.topic.empty()) alert.topic = render_topic(rule.emit.topic, alert);
    if (!rule.emit.payload.empty()) {
        std::string scratch;
        EvalContext c = ctx;
        if (!c.scratch) c.scratch = &scratch;
        std::string& out = alert.payload_json;
        out.clear();
        out.push_back('{');
        for (size_t i = 0; i < rule.emit.payload.size(); ++i) {
            const auto& [name, expr] = rule.emit.payload[i];
            if (i) out += ',';
            json_escape(out, name);
            out += ':';
            if (expr) {
                expr->eval(c).write_json(out);
            } else {
                out += "null";
            }
        }
        out += '}';
    }
    alert.assign_id();
}

bool Throttle::allow(const std::string& key, int64_t time) {
    if (interval_ms_ <= 0) return true;
    auto [it, inserted] = last_.try_emplace(key, time);
    if (inserted) return true;
    if (time - it->second < interval_ms_) return false;
    it->second = time;
    return true;
}

}  // namespace vigil
