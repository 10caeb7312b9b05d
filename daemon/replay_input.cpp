#include "daemon/replay_input.h"

#include <charconv>
#include <cmath>

#include "rules/units.h"

namespace vigil {

namespace {
bool time_of(JsonRef v, int64_t& out) {
    if (v.is_number()) {
        if (!std::isfinite(v.as_number())) return false;
        out = static_cast<int64_t>(std::floor(v.as_number()));
        return true;
    }
    if (!v.is_string()) return false;
    auto s = v.as_string();
    if (auto ms = parse_rfc3339_ms(s)) {
        out = *ms;
        return true;
    }
    int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p != s.data() + s.size()) return false;
    out = n;
    return true;
}
}  // namespace

std::string default_input_stream(const RuleSet& rules) {
    for (const auto& r : rules.rules)
        if (!r->stream.empty()) return r->stream;
    return "input";
}

InputSpec default_input_spec(const RuleSet& rules, const std::string& stream) {
    InputSpec in;
    in.spec.name = stream;
    in.spec.idle_timeout_ms = 0;
    in.detect_time = true;
    for (const auto& r : rules.rules) {
        if (!r->stream.empty() && r->stream != stream) continue;
        if (r->key.empty()) continue;
        in.spec.key = r->key;
        break;
    }
    return in;
}

bool parse_watermark_line(std::string_view line, int64_t& out) {
    if (line.find("\"$watermark\"") == std::string_view::npos) return false;
    JsonDoc doc;
    if (!doc.parse(line)) return false;
    JsonRef root = doc.root();
    if (!root.is_object() || root.size() != 1) return false;
    return time_of(root["$watermark"], out);
}

RejectReason make_input_event(const InputSpec& in, std::string_view line, uint64_t offset, int64_t virtual_now,
                              Event& out, std::string* detail) {
    RejectReason r = extract_event(in.spec, "", line, virtual_now, out, detail);
    if (r != RejectReason::None) return r;
    out.partition = 0;
    out.offset = offset;
    if (in.detect_time) {
        JsonRef root = out.root();
        for (const char* name : {"ts", "time", "timestamp"}) {
            JsonRef v = root[name];
            if (!v.valid()) continue;
            if (!time_of(v, out.time)) {
                if (detail) *detail = std::string("event time field ") + name + " = " + v.dump() +
                                      " is neither epoch milliseconds nor RFC 3339";
                return RejectReason::BadTime;
            }
            break;
        }
    }
    return RejectReason::None;
}

}  // namespace vigil
