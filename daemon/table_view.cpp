// Cached, batch-scoped reads of the reference tables (daemon/table_view.h).
//
// The cache is laid out for the per-event path: per table (found by name, the
// last one remembered), an open-addressing index of (hash, key, entry); a hit
// costs one slot, the entry and the row's nodes. A field lookup goes to the
// table's projection for that path (found through its site, see Site), whose slot
// holds the answer: a hit costs one slot.
#include "daemon/table_view.h"

#include <cstring>

#include "rules/expr_eval.h"
#include "rules/hash.h"
#include "rules/same_bytes.h"

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

uint64_t key_hash(std::string_view key) { return index_hash(key); }

}  // namespace

TableView::Slot* TableView::Index::find(std::string_view key, uint64_t h, const Entries& entries) {
    size_t mask = slots_.size() - 1;
    auto tag = static_cast<uint32_t>(h);
    for (size_t i = tag & mask;; i = (i + 1) & mask) {
        Slot& s = slots_[i];
        if (!s.entry) return nullptr;
        if (s.tag != tag) continue;
        if (s.len == kLong ? entry(entries, s.entry).key == key
                           : s.len == key.size() && same_bytes(s.key, key.data(), key.size()))
            return &s;
    }
}

TableView::Slot& TableView::Index::insert(std::string_view key, uint64_t h, uint32_t entry) {
    if ((size_ + 1) * 2 > slots_.size()) {
        std::vector<Slot, HugePageAllocator<Slot>> bigger(slots_.size() * 2);
        size_t mask = bigger.size() - 1;
        for (const Slot& s : slots_) {
            if (!s.entry) continue;
            size_t i = s.tag & mask;
            while (bigger[i].entry) i = (i + 1) & mask;
            bigger[i] = s;
        }
        slots_.swap(bigger);
    }
    ++size_;
    size_t mask = slots_.size() - 1;
    auto tag = static_cast<uint32_t>(h);
    size_t i = tag & mask;
    while (slots_[i].entry) i = (i + 1) & mask;
    Slot& s = slots_[i];
    s.tag = tag;
    s.entry = entry;
    if (key.size() <= sizeof(s.key)) {
        s.len = static_cast<uint8_t>(key.size());
        std::memcpy(s.key, key.data(), key.size());
    } else {
        s.len = kLong;
    }
    return s;
}

bool TableView::Projection::same(const expr::PathSeg* segs, uint32_t nsegs) const {
    if (path.size() != nsegs) return false;
    for (uint32_t i = 0; i < nsegs; ++i) {
        const expr::PathSeg& a = path[i];
        const expr::PathSeg& b = segs[i];
        if (a.is_index != b.is_index || (a.is_index ? a.index != b.index : a.key != b.key)) return false;
    }
    return true;
}

TableView::Projection& TableView::TableCache::projection(const expr::PathSeg* segs, uint32_t nsegs) {
    for (auto& p : projections)
        if (p->same(segs, nsegs)) return *p;
    auto p = std::make_unique<Projection>();
    p->path.assign(segs, segs + nsegs);
    projections.push_back(std::move(p));
    return *projections.back();
}

void TableView::TableCache::clear() {
    rows.clear();
    entries.clear();
    projections.clear();
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

// The cached row of `key` (1 + its index in t.entries), read from LMDB (and
// cached, found or not) on a miss.
uint32_t TableView::row(TableCache& t, std::string_view key, uint64_t h) const {
    if (const Slot* s = t.rows.find(key, h, t.entries)) return s->entry;
    ++cached_;
    t.entries.push_back(std::make_unique<Entry>());
    auto n = static_cast<uint32_t>(t.entries.size());
    Entry& e = *t.entries.back();
    e.key = std::string(key);
    t.rows.insert(key, h, n);
    read(t, e);
    return n;
}

void TableView::read(const TableCache& t, Entry& e) const {
    ++reads_;
    if (t.history) {
        e.versions.clear();
        for (auto& [time, json] : reader_->versions(t.name, e.key)) {
            auto doc = std::make_unique<JsonDoc>();
            if (!parse_row(json, *doc)) doc.reset();
            e.versions.emplace_back(time, std::move(doc));
        }
    } else {
        std::string_view json;
        e.found = reader_->get(t.name, e.key, json) && parse_row(json, e.doc);
        if (!e.found) e.doc.clear();
    }
}

void TableView::answer(const Entry& e, const Projection& p, Slot& s) {
    Field f = field_of(e.found ? expr::follow(e.doc.root(), p.path.data(), static_cast<uint32_t>(p.path.size()))
                               : JsonRef());
    if (f.is_number) {
        s.answer = Answer::Number;
        s.value.number = f.number;
    } else if (f.ref.valid()) {
        s.answer = Answer::Other;
        s.value.index = f.ref.index();
    } else {
        s.answer = Answer::Missing;
    }
}

TableView::Field TableView::field(const TableCache& t, const Slot& s) {
    Field f;
    if (s.answer == Answer::Number) {
        f.is_number = true;
        f.number = s.value.number;
    } else if (s.answer == Answer::Other) {
        f.ref = JsonRef(&entry(t.entries, s.entry).doc, s.value.index);
    }
    return f;
}

JsonRef TableView::lookup(std::string_view table, std::string_view key, int64_t at) const {
    ++lookups_;
    TableCache& t = table_cache(table);
    Entry& e = entry(t.entries, row(t, key, key_hash(key)));
    if (!t.history) return e.found ? e.doc.root() : JsonRef();
    const JsonDoc* best = nullptr;
    for (const auto& [time, doc] : e.versions) {
        if (time > at) break;
        best = doc.get();
    }
    return best ? best->root() : JsonRef();
}

TableView::Site TableView::site(std::string_view table, const expr::PathSeg* segs, uint32_t nsegs,
                                uint64_t id) const {
    if (id && sites_[id % 64].id == id) return sites_[id % 64];
    Site s;
    s.id = id;
    s.table = &table_cache(table);
    s.projection = s.table->history ? nullptr : &s.table->projection(segs, nsegs);
    if (id) sites_[id % 64] = s;
    return s;
}

TableView::Field TableView::lookup_field(std::string_view table, std::string_view key, int64_t at,
                                         const expr::PathSeg* segs, uint32_t nsegs, uint64_t id) const {
    const Site site = this->site(table, segs, nsegs, id);
    if (!site.projection) return TableLookup::lookup_field(table, key, at, segs, nsegs);  // the row depends on `at`
    ++lookups_;
    TableCache& t = *site.table;
    Projection& p = *site.projection;
    uint64_t h = key_hash(key);
    Slot* s = p.answers.find(key, h, t.entries);
    if (!s) {
        uint32_t n = row(t, key, h);
        s = &p.answers.insert(key, h, n);
        answer(entry(t.entries, n), p, *s);
    }
    return field(t, *s);
}

void TableView::prefetch(std::string_view table, std::string_view key, const expr::PathSeg* segs, uint32_t nsegs,
                         uint64_t id) const {
    const Site site = this->site(table, segs, nsegs, id);
    if (site.projection) site.projection->answers.prefetch(key_hash(key));
}

void TableView::refresh(std::string_view table, std::string_view key) {
    for (auto& t : tables_) {
        if (t->name != table) continue;
        uint64_t h = key_hash(key);
        const Slot* row = t->rows.find(key, h, t->entries);
        if (!row) return;
        Entry& e = entry(t->entries, row->entry);
        read(*t, e);
        for (auto& p : t->projections)
            if (Slot* s = p->answers.find(key, h, t->entries)) answer(e, *p, *s);
        return;
    }
}

void TableView::clear_all() {
    for (auto& t : tables_) t->clear();
    for (Site& s : sites_) s = Site{};  // their projections are gone
    cached_ = 0;
}

void TableView::end_batch() {
    reader_->end();
    if (cached_ > max_cached_) {
        clear_all();
        generation_ = store_.generation();
        return;
    }
    if (store_.generation() == generation_) return;
    changed_.clear();
    if (!store_.changes_since(generation_, changed_, generation_)) {
        clear_all();
        return;
    }
    for (const auto& [table, key] : changed_) refresh(table, key);
    reader_->end();
}

}  // namespace vigil
