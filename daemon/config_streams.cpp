// `streams:` and `tables:` of vigil.yaml (SPEC 2 and 3.5).
#include <filesystem>

#include "daemon/config_sections.h"

namespace vigil {

namespace {

const std::vector<std::string> kStreamKeys = {"topic", "qos", "key", "time", "max_event_bytes"};
const std::vector<std::string> kTimeKeys = {"field", "format", "max_out_of_order", "idle_timeout", "on_missing"};
const std::vector<std::string> kTimeFormats = {"epoch_ms", "epoch_s", "epoch_us", "rfc3339"};
const std::vector<std::string> kTableKeys = {"topic", "file", "key", "history"};

bool valid_name(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    return true;
}

void parse_topics(YamlFile& f, YamlMap& m, std::vector<std::string>& out) {
    std::vector<SourcePos> where;
    if (!m.get_string_list("topic", out, true, &where)) return;
    if (out.empty()) f.error(m.value_pos("topic"), "\"topic\" must name at least one MQTT topic filter");
    for (size_t i = 0; i < out.size(); ++i) {
        std::string why;
        if (!valid_topic_filter(out[i], why)) f.error(where[i], "bad topic filter \"" + out[i] + "\": " + why);
    }
}

void parse_time(YamlFile& f, const YAML::Node& n, StreamSpec& s) {
    YamlMap m(f, n, "time", kTimeKeys);
    if (!m.ok()) return;
    std::string field;
    if (m.get_string("field", field)) {
        std::string err;
        if (!FieldPath::parse(field, s.time_field, &err))
            f.error(m.value_pos("field"), "bad time field \"" + field + "\": " + err);
        else if (s.time_field.topic_segment >= 0)
            f.error(m.value_pos("field"), "the time field must be a payload field, not a topic segment");
    }
    size_t i = 0;
    if (m.get_enum("format", kTimeFormats, i)) s.time_format = static_cast<TimeFormat>(i);
    m.get_duration("max_out_of_order", s.max_out_of_order_ms, 0);
    m.get_duration("idle_timeout", s.idle_timeout_ms, 1);
    if (m.get_enum("on_missing", {"ingest_time", "reject"}, i))
        s.on_missing = i == 0 ? OnMissingTime::IngestTime : OnMissingTime::Reject;
    if (!m.has("field") && (m.has("format") || m.has("on_missing")))
        f.warning(m.pos(), "\"time\" has no \"field\": every event gets its ingest time");
}

// history: true (every version kept), false, or a duration (how long superseded rows stay).
void parse_table_history(YamlMap& m, TableSpec& t) {
    const YAML::Node* h = m.find("history");
    if (!h) return;
    if (h->IsScalar() && (h->Scalar() == "true" || h->Scalar() == "false")) {
        bool keep = false;
        if (m.get_bool("history", keep)) t.history_ms = keep ? INT64_MAX : 0;
        return;
    }
    m.get_duration("history", t.history_ms, 0);
}

}  // namespace

std::string resolve_path(const std::string& base_dir, const std::string& p) {
    namespace fs = std::filesystem;
    if (p.empty() || fs::path(p).is_absolute() || base_dir.empty()) return p;
    return (fs::path(base_dir) / p).lexically_normal().string();
}

bool valid_topic_filter(const std::string& filter, std::string& why) {
    std::string_view t = filter;
    if (t.starts_with("$share/")) {
        size_t slash = t.find('/', 7);
        if (slash == std::string_view::npos || slash == 7) {
            why = "a shared subscription is $share/GROUP/FILTER";
            return false;
        }
        t = t.substr(slash + 1);
    }
    if (t.empty()) {
        why = "empty topic filter";
        return false;
    }
    size_t start = 0;
    while (true) {
        size_t end = t.find('/', start);
        std::string_view level = t.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        if (level.find('#') != std::string_view::npos && (level != "#" || end != std::string_view::npos)) {
            why = "'#' must be a whole level and the last one";
            return false;
        }
        if (level.find('+') != std::string_view::npos && level != "+") {
            why = "'+' must be a whole level";
            return false;
        }
        if (end == std::string_view::npos) return true;
        start = end + 1;
    }
}

bool parse_key_paths(YamlFile& f, YamlMap& m, const char* key, std::vector<FieldPath>& out) {
    std::vector<std::string> paths;
    std::vector<SourcePos> where;
    if (!m.get_string_list(key, paths, true, &where)) return false;
    bool ok = true;
    for (size_t i = 0; i < paths.size(); ++i) {
        FieldPath fp;
        std::string err;
        if (!FieldPath::parse(paths[i], fp, &err)) {
            f.error(where[i], "bad key \"" + paths[i] + "\": " + err);
            ok = false;
            continue;
        }
        out.push_back(std::move(fp));
    }
    return ok;
}

void parse_streams(YamlFile& f, const YAML::Node& n, std::vector<StreamSpec>& out) {
    if (!n.IsMap()) {
        f.error(f.content_pos(n), "\"streams\" must be a map of stream name: settings, got " + describe_node(n));
        return;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
        StreamSpec s;
        s.name = it->first.IsScalar() ? it->first.Scalar() : std::string();
        if (!valid_name(s.name)) {
            f.error(f.pos(it->first), "stream name \"" + s.name + "\" may only use letters, digits, '-' and '_'");
            continue;
        }
        for (const auto& prev : out)
            if (prev.name == s.name) f.error(f.pos(it->first), "duplicate stream \"" + s.name + "\"");
        YamlMap m(f, it->second, "stream \"" + s.name + "\"", kStreamKeys);
        if (!m.ok()) continue;
        if (m.require("topic")) parse_topics(f, m, s.topics);
        int64_t qos = 0;
        if (m.get_int("qos", qos, 0, 2)) s.qos = static_cast<int>(qos);
        parse_key_paths(f, m, "key", s.key);
        if (const YAML::Node* t = m.find("time")) parse_time(f, *t, s);
        uint64_t bytes = 0;
        if (m.get_size("max_event_bytes", bytes)) {
            if (bytes < 64 || bytes > (256ULL << 20))
                f.error(m.value_pos("max_event_bytes"), "\"max_event_bytes\" must be between 64B and 256MiB");
            else
                s.max_event_bytes = bytes;
        }
        out.push_back(std::move(s));
    }
}

void parse_tables(YamlFile& f, const YAML::Node& n, const std::string& base_dir, std::vector<TableSpec>& out) {
    if (!n.IsMap()) {
        f.error(f.content_pos(n), "\"tables\" must be a map of table name: settings, got " + describe_node(n));
        return;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
        TableSpec t;
        t.name = it->first.IsScalar() ? it->first.Scalar() : std::string();
        if (!valid_name(t.name)) {
            f.error(f.pos(it->first), "table name \"" + t.name + "\" may only use letters, digits, '-' and '_'");
            continue;
        }
        YamlMap m(f, it->second, "table \"" + t.name + "\"", kTableKeys);
        if (!m.ok()) continue;
        if (m.has("topic") == m.has("file")) {
            f.error(m.pos(), "table \"" + t.name + "\" needs exactly one of \"topic\" and \"file\"");
        } else if (m.get_string("topic", t.topic)) {
            std::string why;
            if (!valid_topic_filter(t.topic, why))
                f.error(m.value_pos("topic"), "bad topic filter \"" + t.topic + "\": " + why);
        } else if (m.get_string("file", t.file)) {
            t.file = resolve_path(base_dir, t.file);
        }
        if (m.require("key") && parse_key_paths(f, m, "key", t.key) && !t.file.empty())
            for (const auto& k : t.key)
                if (k.topic_segment >= 0)
                    f.error(m.value_pos("key"), "table \"" + t.name + "\" is read from a file: its key must be a field");
        parse_table_history(m, t);
        out.push_back(std::move(t));
    }
}

}  // namespace vigil
