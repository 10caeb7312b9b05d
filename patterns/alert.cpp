#include "patterns/alert.h"

#include <charconv>

#include "rules/hash.h"
#include "rules/json.h"

namespace vigil {

void Alert::assign_id() {
    // The hashed bytes are fixed (ids must not change): fields and decimal
    // numbers, each followed by 0x1f; hashed in pieces, nothing is built.
    StableHasher h;
    auto add = [&](std::string_view s) {
        h.update(s);
        h.update('\x1f');
    };
    auto add_num = [&](auto v) {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v);
        add(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
    };
    add(rule);
    add(version);
    add(kind);
    add(key);
    for (const auto& [stage, evs] : events) {
        add(stage);
        for (const auto& e : evs) {
            add_num(e->partition);
            add_num(e->offset);
        }
    }
    if (window) {
        add_num(window->first);
        add_num(window->second);
    }
    id = hex_digits(h.finish(), 16);
}

std::string Alert::to_json() const {
    std::string o;
    o.reserve(256);
    o += "{\"id\":";
    json_escape(o, id);
    o += ",\"rule\":";
    json_escape(o, rule);
    o += ",\"version\":";
    json_escape(o, version);
    o += ",\"kind\":";
    json_escape(o, kind);
    o += ",\"key\":";
    json_escape(o, key);
    o += ",\"severity\":";
    json_escape(o, severity);
    o += ",\"time\":";
    o += std::to_string(time);
    o += ",\"detected_at\":";
    o += std::to_string(detected_at);
    if (window) {
        o += ",\"window\":{\"start\":" + std::to_string(window->first) + ",\"end\":" + std::to_string(window->second) + "}";
        o += ",\"values\":";
        o += values_json.empty() ? "{}" : values_json;
    }
    o += ",\"events\":{";
    for (size_t s = 0; s < events.size(); ++s) {
        if (s) o += ',';
        json_escape(o, events[s].first);
        o += ":[";
        for (size_t i = 0; i < events[s].second.size(); ++i) {
            if (i) o += ',';
            const auto& e = events[s].second[i];
            o += e->payload().empty() ? std::string_view("null") : e->payload();
        }
        o += ']';
    }
    o += "},\"offsets\":{";
    for (size_t s = 0; s < events.size(); ++s) {
        if (s) o += ',';
        json_escape(o, events[s].first);
        o += ":[";
        for (size_t i = 0; i < events[s].second.size(); ++i) {
            if (i) o += ',';
            const auto& e = events[s].second[i];
            o += '[' + std::to_string(e->partition) + ',' + std::to_string(e->offset) + ']';
        }
        o += ']';
    }
    o += "},\"payload\":";
    o += payload_json.empty() ? "{}" : payload_json;
    o += '}';
    return o;
}

std::string render_topic(std::string_view tmpl, const Alert& a) {
    std::string out;
    out.reserve(tmpl.size() + 32);
    auto put_clean = [&](std::string_view v) {
        for (char c : v) out += (c == '+' || c == '#' || c == '/') ? '_' : c;
    };
    size_t i = 0;
    while (i < tmpl.size()) {
        if (tmpl[i] == '{') {
            size_t close = tmpl.find('}', i);
            if (close != std::string_view::npos) {
                auto name = tmpl.substr(i + 1, close - i - 1);
                if (name == "rule") { put_clean(a.rule); i = close + 1; continue; }
                if (name == "key") { put_clean(a.key); i = close + 1; continue; }
                if (name == "severity") { put_clean(a.severity); i = close + 1; continue; }
                if (name == "kind") { put_clean(a.kind); i = close + 1; continue; }
            }
        }
        out += tmpl[i++];
    }
    return out;
}

}  // namespace vigil
