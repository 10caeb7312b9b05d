#include "rules/event.h"

#include <charconv>
#include <cmath>

#include "rules/units.h"

namespace vigil {

namespace {
std::string_view topic_segment(std::string_view topic, int n) {
    size_t start = 0;
    for (int i = 0; i < n; ++i) {
        size_t slash = topic.find('/', start);
        if (slash == std::string_view::npos) return {};
        start = slash + 1;
    }
    size_t end = topic.find('/', start);
    return topic.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

void append_scalar(std::string& out, JsonRef v) {
    if (v.is_string()) {
        out.append(v.as_string());
    } else if (v.is_number()) {
        json_number(out, v.as_number());
    } else {
        v.write(out);
    }
}
}  // namespace

bool FieldPath::parse(std::string_view text, FieldPath& out, std::string* error) {
    out = FieldPath{};
    out.text = std::string(text);
    if (text.empty()) {
        if (error) *error = "empty field path";
        return false;
    }
    if (text.rfind("topic[", 0) == 0 && text.back() == ']') {
        int n = -1;
        auto inner = text.substr(6, text.size() - 7);
        auto [p, ec] = std::from_chars(inner.data(), inner.data() + inner.size(), n);
        if (ec != std::errc() || p != inner.data() + inner.size() || n < 0) {
            if (error) *error = "topic segment must be topic[N] with N >= 0";
            return false;
        }
        out.topic_segment = n;
        return true;
    }
    size_t i = 0;
    while (i < text.size()) {
        if (text[i] == '[') {
            size_t close = text.find(']', i);
            if (close == std::string_view::npos) {
                if (error) *error = "missing ']' in field path";
                return false;
            }
            auto inner = text.substr(i + 1, close - i - 1);
            if (inner.size() >= 2 && inner.front() == '"' && inner.back() == '"') {
                out.parts.emplace_back(inner.substr(1, inner.size() - 2));
                out.index.push_back(-1);
            } else {
                int n = -1;
                auto [p, ec] = std::from_chars(inner.data(), inner.data() + inner.size(), n);
                if (ec != std::errc() || p != inner.data() + inner.size() || n < 0) {
                    if (error) *error = "array index must be a non-negative number";
                    return false;
                }
                out.parts.emplace_back(inner);
                out.index.push_back(n);
            }
            i = close + 1;
            if (i < text.size() && text[i] == '.') ++i;
            continue;
        }
        size_t end = text.find_first_of(".[", i);
        if (end == std::string_view::npos) end = text.size();
        if (end == i) {
            if (error) *error = "empty name in field path";
            return false;
        }
        out.parts.emplace_back(text.substr(i, end - i));
        out.index.push_back(-1);
        i = end;
        if (i < text.size() && text[i] == '.') {
            ++i;
            if (i == text.size()) {
                if (error) *error = "field path ends with '.'";
                return false;
            }
        }
    }
    return true;
}

JsonRef FieldPath::resolve(JsonRef v) const {
    if (parts.size() == 1 && index[0] < 0) return v[parts[0]];  // most paths: one member name
    for (size_t i = 0; i < parts.size() && v.valid(); ++i) v = index[i] >= 0 ? v.at(static_cast<size_t>(index[i])) : v[parts[i]];
    return v;
}

const char* reject_reason_name(RejectReason r) {
    switch (r) {
    case RejectReason::None: return "none";
    case RejectReason::TooLarge: return "too_large";
    case RejectReason::NotJson: return "not_json";
    case RejectReason::NotObject: return "not_object";
    case RejectReason::NoKey: return "no_key";
    case RejectReason::NoTime: return "no_time";
    case RejectReason::BadTime: return "bad_time";
    }
    return "unknown";
}

bool extract_key(const std::vector<FieldPath>& paths, std::string_view topic, JsonRef root, std::string& out) {
    out.clear();
    for (size_t i = 0; i < paths.size(); ++i) {
        if (i) out += '|';
        const auto& p = paths[i];
        if (p.topic_segment >= 0) {
            auto seg = topic_segment(topic, p.topic_segment);
            if (seg.empty()) return false;
            out.append(seg);
            continue;
        }
        JsonRef v = p.resolve(root);
        if (!v.valid() || v.is_null() || v.is_object() || v.is_array()) return false;
        append_scalar(out, v);
    }
    return true;
}

RejectReason extract_event(const StreamSpec& spec, std::string_view topic, std::string_view payload,
                           int64_t ingest_time_ms, Event& out, std::string* detail) {
    if (payload.size() > spec.max_event_bytes) {
        if (detail) *detail = "payload of " + std::to_string(payload.size()) + " bytes exceeds the limit";
        return RejectReason::TooLarge;
    }
    out.cond_plan = nullptr;  // (a pooled event may carry an earlier event's condition results)
    out.key_hashed = false;
    std::string err;
    size_t at = 0;
    if (!out.doc.parse(payload, &err, &at)) {
        if (detail) *detail = "not JSON at byte " + std::to_string(at) + ": " + err;
        return RejectReason::NotJson;
    }
    JsonRef root = out.doc.root();
    if (!root.is_object()) {
        if (detail) *detail = "payload is JSON but not an object";
        return RejectReason::NotObject;
    }
    if (!extract_key(spec.key, topic, root, out.key)) {
        if (detail) *detail = "no key: field " + (spec.key.empty() ? std::string("?") : spec.key.front().text) +
                              " missing or not a scalar";
        return RejectReason::NoKey;
    }
    hash_event_key(out);
    out.ingest_time = ingest_time_ms;
    out.time = ingest_time_ms;
    if (!spec.time_field.parts.empty()) {
        JsonRef t = spec.time_field.resolve(root);
        if (!t.valid() || t.is_null()) {
            if (spec.on_missing == OnMissingTime::Reject) {
                if (detail) *detail = "no event time: field " + spec.time_field.text + " missing";
                return RejectReason::NoTime;
            }
        } else if (spec.time_format == TimeFormat::Rfc3339) {
            auto ms = t.is_string() ? parse_rfc3339_ms(t.as_string()) : std::nullopt;
            if (!ms) {
                if (detail) *detail = "event time " + t.dump() + " is not RFC 3339";
                return RejectReason::BadTime;
            }
            out.time = *ms;
        } else {
            double v = 0;
            if (t.is_number()) {
                v = t.as_number();
            } else if (t.is_string()) {
                auto s = t.as_string();
                auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
                if (ec != std::errc() || p != s.data() + s.size()) v = NAN;
            } else {
                v = NAN;
            }
            if (!std::isfinite(v)) {
                if (detail) *detail = "event time " + t.dump() + " is not a number";
                return RejectReason::BadTime;
            }
            switch (spec.time_format) {
            case TimeFormat::EpochS: v *= 1000; break;
            case TimeFormat::EpochUs: v /= 1000; break;
            default: break;
            }
            out.time = static_cast<int64_t>(std::floor(v));
        }
    }
    out.topic.assign(topic);
    out.stream = spec.name;
    return RejectReason::None;
}

bool topic_matches(std::string_view filter, std::string_view topic) {
    if (filter.rfind("$share/", 0) == 0) {
        size_t slash = filter.find('/', 7);
        if (slash == std::string_view::npos) return false;
        filter = filter.substr(slash + 1);
    }
    size_t fi = 0, ti = 0;
    while (fi <= filter.size()) {
        size_t fe = filter.find('/', fi);
        if (fe == std::string_view::npos) fe = filter.size();
        auto fseg = filter.substr(fi, fe - fi);
        if (fseg == "#") return true;
        if (ti > topic.size()) return false;
        size_t te = topic.find('/', ti);
        if (te == std::string_view::npos) te = topic.size();
        auto tseg = topic.substr(ti, te - ti);
        if (fseg != "+" && fseg != tseg) return false;
        fi = fe + 1;
        ti = te + 1;
        if (fe == filter.size()) return te == topic.size();
    }
    return false;
}

}  // namespace vigil
