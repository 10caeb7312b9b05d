// Cached, batch-scoped reads of the reference tables (daemon/table_view.h).
#include "daemon/table_view.h"

namespace vigil {

namespace {

// A row as stored; null when it is not a JSON object (rows are written parsed, so
// only a foreign writer could store one).
std::unique_ptr<JsonDoc> parse_row(std::string_view json) {
    auto doc = std::make_unique<JsonDoc>();
    if (json.empty() || !doc->parse(json) || !doc->root().is_object()) return nullptr;
    return doc;
}

}  // namespace

TableView::TableView(const TableStore& store, std::set<std::string, std::less<>> as_of, size_t max_cached_rows)
    : store_(store), as_of_(std::move(as_of)), max_cached_(max_cached_rows), reader_(store.reader()),
      generation_(store.generation()) {}

TableView::~TableView() = default;

TableView::Entry* TableView::load(std::string_view table, std::string_view key, bool history) const {
    ++reads_;
    auto e = std::make_unique<Entry>();
    if (history) {
        for (auto& [t, json] : reader_->versions(table, key)) e->versions.emplace_back(t, parse_row(json));
    } else {
        std::string_view json;
        if (reader_->get(table, key, json)) e->doc = parse_row(json);
    }
    Entry* out = e.get();
    cache_.emplace(probe_, std::move(e));
    return out;
}

JsonRef TableView::lookup(std::string_view table, std::string_view key, int64_t at) const {
    ++lookups_;
    probe_.assign(table);
    probe_.push_back('\0');
    probe_.append(key);
    bool history = !as_of_.empty() && as_of_.count(table) > 0;
    auto it = cache_.find(probe_);
    Entry* e = it != cache_.end() ? it->second.get() : load(table, key, history);
    if (!history) return e->doc ? e->doc->root() : JsonRef();
    const JsonDoc* best = nullptr;
    for (const auto& [t, doc] : e->versions) {
        if (t > at) break;
        best = doc.get();
    }
    return best ? best->root() : JsonRef();
}

void TableView::end_batch() {
    reader_->end();
    uint64_t g = store_.generation();
    if (g != generation_ || cache_.size() > max_cached_) {
        cache_.clear();
        generation_ = g;
    }
}

}  // namespace vigil
