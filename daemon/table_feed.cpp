// Reference tables from MQTT and files (daemon/table_feed.h).
#include "daemon/table_feed.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace vigil {

namespace {

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
}

bool is_csv(const std::string& path) {
    auto ext = std::filesystem::path(path).extension().string();
    return ext == ".csv" || ext == ".CSV";
}

// One CSV line -> cells (and whether each was quoted); `"` quotes a cell, `""`
// inside quotes is a quote. False on an unclosed quote.
bool split_csv(std::string_view line, std::vector<std::string>& cells, std::vector<bool>* quoted_cells = nullptr) {
    cells.clear();
    if (quoted_cells) quoted_cells->clear();
    std::string cell;
    bool quoted = false, was_quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                cell.push_back('"');
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                cell.push_back(c);
            }
        } else if (c == '"' && trim(cell).empty()) {
            quoted = was_quoted = true;
            cell.clear();
        } else if (c == ',') {
            cells.push_back(was_quoted ? cell : std::string(trim(cell)));
            if (quoted_cells) quoted_cells->push_back(was_quoted);
            cell.clear();
            was_quoted = false;
        } else {
            cell.push_back(c);
        }
    }
    if (quoted) return false;
    cells.push_back(was_quoted ? cell : std::string(trim(cell)));
    if (quoted_cells) quoted_cells->push_back(was_quoted);
    return true;
}

// A CSV cell as JSON: a number, true/false, null (empty), else a string. Quoted cells stay strings.
void csv_cell_json(std::string& out, const std::string& cell, bool quoted) {
    if (!quoted) {
        if (cell.empty()) {
            out += "null";
            return;
        }
        if (cell == "true" || cell == "false") {
            out += cell;
            return;
        }
        double d = 0;
        auto r = std::from_chars(cell.data(), cell.data() + cell.size(), d);
        if (r.ec == std::errc() && r.ptr == cell.data() + cell.size()) {
            json_number(out, d);
            return;
        }
    }
    json_escape(out, cell);
}

void parse_csv(const TableSpec& spec, const std::string& text, std::map<std::string, size_t>& at,
               std::vector<TableRow>& rows, std::vector<std::string>& problems) {
    std::istringstream in(text);
    std::string line;
    std::vector<std::string> header, cells;
    std::vector<bool> quoted;
    size_t lineno = 0;
    auto bad = [&](const std::string& why) { problems.push_back(spec.file + ":" + std::to_string(lineno) + ": " + why); };
    while (std::getline(in, line)) {
        ++lineno;
        if (trim(line).empty()) continue;
        if (header.empty()) {
            if (!split_csv(line, header)) bad("unclosed quote in the header");
            continue;
        }
        if (!split_csv(line, cells, &quoted)) {
            bad("unclosed quote");
            continue;
        }
        if (cells.size() != header.size()) {
            bad(std::to_string(cells.size()) + " cells, the header has " + std::to_string(header.size()));
            continue;
        }
        std::string json = "{";
        for (size_t i = 0; i < cells.size(); ++i) {
            if (i) json += ',';
            json_escape(json, header[i]);
            json += ':';
            csv_cell_json(json, cells[i], quoted[i]);
        }
        json += '}';
        JsonDoc doc;
        doc.parse(json);
        std::string key;
        if (!extract_key(spec.key, "", doc.root(), key)) {
            bad("no key (" + spec.key.front().text + ")");
            continue;
        }
        auto [it, fresh] = at.emplace(key, rows.size());
        if (fresh) rows.push_back({std::move(key), std::move(json)});
        else rows[it->second].json = std::move(json);
    }
}

}  // namespace

std::string tables_dir(const Config& cfg) { return (std::filesystem::path(cfg.data_dir) / "tables").string(); }

ReplayTables open_replay_tables(const Config& cfg, std::string* error) {
    ReplayTables out;
    if (cfg.tables.empty()) return out;
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::path(tables_dir(cfg)) / "data.mdb", ec)) {
        if (error) *error = "no tables in " + tables_dir(cfg) + " yet: every table() lookup gives null";
        return out;
    }
    out.store = TableStore::open(tables_dir(cfg), cfg.map_size, true, error);
    for (const auto& t : cfg.tables)
        if (t.history_ms != 0) out.as_of.insert(t.name);
    return out;
}

bool table_write_for_message(const TableSpec& spec, std::string_view topic, std::string_view payload,
                             TableWrite& out, std::string* why) {
    out = TableWrite{};
    out.table = spec.name;
    out.history_ms = spec.history_ms;
    JsonDoc doc;
    payload = trim(payload);
    if (payload.empty()) {
        out.erase = true;
        if (extract_key(spec.key, topic, JsonRef(), out.key)) return true;
        if (why) *why = "an empty payload deletes a row only when the key comes from the topic";
        return false;
    }
    std::string err;
    size_t at = 0;
    if (!doc.parse(payload, &err, &at)) {
        if (why) *why = "not JSON at byte " + std::to_string(at) + ": " + err;
        return false;
    }
    if (!doc.root().is_object()) {
        if (why) *why = "a row must be a JSON object";
        return false;
    }
    if (!extract_key(spec.key, topic, doc.root(), out.key)) {
        if (why) *why = "no key (" + spec.key.front().text + ")";
        return false;
    }
    out.json = std::string(payload);
    return true;
}

void parse_table_file(const TableSpec& spec, const std::string& text, std::vector<TableRow>& rows,
                      std::vector<std::string>& problems) {
    std::map<std::string, size_t> at;  // key -> index in rows
    if (is_csv(spec.file)) {
        parse_csv(spec, text, at, rows, problems);
        return;
    }
    std::istringstream in(text);
    std::string line;
    size_t lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        std::string_view l = trim(line);
        if (l.empty()) continue;
        TableWrite w;
        std::string why;
        if (!table_write_for_message(spec, "", l, w, &why)) {
            problems.push_back(spec.file + ":" + std::to_string(lineno) + ": " + why);
            continue;
        }
        auto [it, fresh] = at.emplace(w.key, rows.size());
        if (fresh) rows.push_back({std::move(w.key), std::move(w.json)});
        else rows[it->second].json = std::move(w.json);
    }
}

TableFeeder::TableFeeder(TableStore& store, std::vector<TableSpec> tables, MqttOptions mqtt, int poll_ms)
    : store_(store), tables_(std::move(tables)), mqtt_(std::move(mqtt)), poll_ms_(poll_ms),
      seen_(tables_.size(), {INT64_MIN, 0}) {}

TableFeeder::~TableFeeder() { stop(); }

bool TableFeeder::start(std::string* error) {
    std::vector<MqttSubscription> subs;
    bool files = false;
    for (size_t i = 0; i < tables_.size(); ++i) {
        if (!tables_[i].topic.empty()) subs.push_back({tables_[i].topic, 1});
        if (!tables_[i].file.empty()) files = true;
    }
    for (size_t i = 0; i < tables_.size(); ++i)
        if (!tables_[i].file.empty()) load_file(i);
    if (!subs.empty()) {
        MqttOptions o = mqtt_;
        o.client_id += "-tables";
        o.clean_session = true;  // the rows are in LMDB; retained messages give the state on every subscribe
        o.session_expiry_s = 0;
        MqttClient::Callbacks cb;
        cb.on_message = [this](std::string_view topic, std::string_view payload, bool) { on_message(topic, payload); };
        client_ = std::make_unique<MqttClient>(o, std::move(subs), std::move(cb));
        if (!client_->start(error)) return false;
    }
    if (files) watcher_ = std::thread([this] { watch(); });
    return true;
}

void TableFeeder::stop() {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (watcher_.joinable()) watcher_.join();
    if (client_) client_->stop();
    client_.reset();
}

TableFeedStats TableFeeder::stats() const {
    return {upserts_.load(), deletes_.load(), bad_messages_.load(), file_loads_.load(), bad_lines_.load()};
}

void TableFeeder::on_message(std::string_view topic, std::string_view payload) {
    for (const auto& spec : tables_) {
        if (spec.topic.empty() || !topic_matches(spec.topic, topic)) continue;
        TableWrite w;
        std::string why;
        uint64_t suppressed = 0;
        if (!table_write_for_message(spec, topic, payload, w, &why)) {
            ++bad_messages_;
            if (warn_limit_.allow(suppressed))
                spdlog::warn("table {}: message on {} skipped: {}{}", spec.name, topic, why,
                             suppressed ? " (" + std::to_string(suppressed) + " more not logged)" : "");
            continue;
        }
        bool erase = w.erase;
        Status st = store_.apply({std::move(w)}, wall_ms());
        if (!st.ok) {
            ++bad_messages_;
            if (warn_limit_.allow(suppressed)) spdlog::error("table {}: {}", spec.name, st.error);
            continue;
        }
        ++(erase ? deletes_ : upserts_);
    }
}

// The file's modification time (ns) and size; {INT64_MIN, 0} when it cannot be read.
static std::pair<int64_t, uintmax_t> file_stamp(const std::string& path) {
    std::error_code ec;
    auto mtime = std::filesystem::last_write_time(path, ec);
    if (ec) return {INT64_MIN, 0};
    auto size = std::filesystem::file_size(path, ec);
    if (ec) return {INT64_MIN, 0};
    return {static_cast<int64_t>(mtime.time_since_epoch().count()), size};
}

void TableFeeder::load_file(size_t index) {
    const TableSpec& spec = tables_[index];
    seen_[index] = file_stamp(spec.file);  // before reading: a change while we read is seen next poll
    std::ifstream in(spec.file, std::ios::binary);
    if (!in) {
        spdlog::warn("table {}: cannot read {}; the table keeps its rows", spec.name, spec.file);
        return;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<TableRow> rows;
    std::vector<std::string> problems;
    parse_table_file(spec, ss.str(), rows, problems);
    bad_lines_ += problems.size();
    for (size_t i = 0; i < problems.size() && i < 20; ++i) spdlog::warn("table {}: {} (line skipped)", spec.name, problems[i]);
    if (problems.size() > 20) spdlog::warn("table {}: {} more bad lines not shown", spec.name, problems.size() - 20);
    size_t changed = 0;
    Status st = store_.replace(spec.name, rows, wall_ms(), spec.history_ms, &changed);
    if (!st.ok) {
        spdlog::error("table {}: loading {}: {}", spec.name, spec.file, st.error);
        return;
    }
    ++file_loads_;
    spdlog::info("table {}: {} rows from {} ({} changed)", spec.name, rows.size(), spec.file, changed);
}

void TableFeeder::watch() {
    std::unique_lock lk(mu_);
    for (;;) {
        for (size_t i = 0; i < tables_.size(); ++i) {
            if (tables_[i].file.empty()) continue;
            auto now = file_stamp(tables_[i].file);
            if (now.first == INT64_MIN || seen_[i] == now) continue;
            lk.unlock();
            load_file(i);
            lk.lock();
        }
        if (cv_.wait_for(lk, std::chrono::milliseconds(poll_ms_), [&] { return stopping_; })) return;
    }
}

}  // namespace vigil
