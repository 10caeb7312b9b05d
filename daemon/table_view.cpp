// Cached, batch-scoped reads of the reference tables (daemon/table_view.h).
//
// The cache is laid out for the per-event path: per table (found by name, the
// last one remembered), an open-addressing table (linear probing, at most half
// full) of (hash, Entry*); a hit costs one slot, the entry and the row's nodes.
#include "daemon/table_view.h"

namespace vigil {

namespace {

// Parses a stored row into `doc`; false when it is not a JSON object (rows are
// written parsed, so only a foreign writer could store one).
bool parse_row(std::string_view json, JsonDoc& doc) {
    if (json.empty() || !doc.parse(json)) return false;
    if (doc.root().is_object()) return true;
    doc.clear();
    return false;
}

uint64_t key_hash(std::string_view key) {
    uint64_t h = std::hash<std::string_view>{}(key);
    return h ? h : 1;  // 0 marks an empty slot
}

}  // namespace

TableView::Entry* TableView::TableCache::find(std::string_view key, uint64_t h) const {
    size_t mask = slots.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const Slot& s = slots[i];
        if (!s.entry) return nullptr;
        if (s.hash == h && s.entry->key == key) return s.entry;
    }
}

TableView::Entry& TableView::TableCache::insert(std::string_view key, uint64_t h) {
    if ((entries.size() + 1) * 2 > slots.size()) {
        std::vector<Slot> bigger(slots.size() * 2);
        size_t mask = bigger.size() - 1;
        for (const Slot& s : slots) {
            if (!s.entry) continue;
            size_t i = s.hash & mask;
            while (bigger[i].entry) i = (i + 1) & mask;
            bigger[i] = s;
        }
        slots.swap(bigger);
    }
    entries.push_back(std::make_unique<Entry>());
    Entry* e = entries.back().get();
    e->key = std::string(key);
    size_t mask = slots.size() - 1;
    size_t i = h & mask;
    while (slots[i].entry) i = (i + 1) & mask;
    slots[i] = Slot{h, e};
    return *e;
}

void TableView::TableCache::clear() {
    slots.assign(1024, Slot{});
    entries.clear();
}

TableView::TableView(const TableStore& store, std::set<std::string, std::less<>> as_of, size_t max_cached_rows)
    : store_(store), as_of_(std::move(as_of)), max_cached_(max_cached_rows), reader_(store.reader()),
      generation_(store.generation()) {}

TableView::~TableView() = default;

TableView::TableCache& TableView::table_cache(std::string_view table) const {
    if (last_ && last_->name == table) return *last_;
    for (auto& t : tables_)
        if (t->name == table) return *(last_ = t.get());
    auto t = std::make_unique<TableCache>();
    t->name = std::string(table);
    t->history = as_of_.count(table) > 0;
    tables_.push_back(std::move(t));
    return *(last_ = tables_.back().get());
}

TableView::Entry& TableView::load(TableCache& t, std::string_view key, uint64_t h) const {
    ++reads_;
    ++cached_;
    Entry& e = t.insert(key, h);
    if (t.history) {
        for (auto& [time, json] : reader_->versions(t.name, key)) {
            auto doc = std::make_unique<JsonDoc>();
            if (!parse_row(json, *doc)) doc.reset();
            e.versions.emplace_back(time, std::move(doc));
        }
    } else {
        std::string_view json;
        e.found = reader_->get(t.name, key, json) && parse_row(json, e.doc);
    }
    return e;
}

JsonRef TableView::lookup(std::string_view table, std::string_view key, int64_t at) const {
    ++lookups_;
    TableCache& t = table_cache(table);
    uint64_t h = key_hash(key);
    Entry* found = t.find(key, h);
    Entry& e = found ? *found : load(t, key, h);
    if (!t.history) return e.found ? e.doc.root() : JsonRef();
    const JsonDoc* best = nullptr;
    for (const auto& [time, doc] : e.versions) {
        if (time > at) break;
        best = doc.get();
    }
    return best ? best->root() : JsonRef();
}

void TableView::end_batch() {
    reader_->end();
    uint64_t g = store_.generation();
    if (g != generation_ || cached_ > max_cached_) {
        for (auto& t : tables_) t->clear();
        cached_ = 0;
        generation_ = g;
    }
}

}  // namespace vigil
