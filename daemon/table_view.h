#pragma once
// The rules' view of the reference tables in LMDB (rules/table_lookup.h over
// storage/tables.h), one per engine thread.
//
// Cost per lookup: a hash-map probe of parsed rows. A row is read from LMDB and
// parsed once, then cached (misses too) until the store changes: end_batch()
// (called by the worker between batches) closes the read transaction and, when
// the store's generation moved, drops the cache. So at most one read transaction
// is open per batch, and none between batches.
//
// Time (docs/tables.md): lookup(table, key, at) answers with the latest row,
// except for the tables named in `as_of` (replay of tables with `history`), which
// answer with the row as it was at event time `at`.
// Failure modes: none raised; an LMDB error reads as a missing row.
// Thread rules: one thread (the one that installed it with a TableScope).
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "rules/table_lookup.h"
#include "storage/tables.h"

namespace vigil {

class TableView final : public TableLookup {
public:
    explicit TableView(const TableStore& store, std::set<std::string, std::less<>> as_of = {},
                       size_t max_cached_rows = 1 << 20);
    ~TableView() override;

    JsonRef lookup(std::string_view table, std::string_view key, int64_t at) const override;
    // Ends the batch: the read snapshot is closed; cached rows go when the store changed.
    void end_batch();

    uint64_t lookups() const { return lookups_; }
    uint64_t reads() const { return reads_; }  // LMDB reads (cache misses)

private:
    struct Entry {
        std::string key;
        // Latest row (found: doc holds it), or every history version (time, row; null doc: deleted).
        bool found = false;
        JsonDoc doc;
        std::vector<std::pair<int64_t, std::unique_ptr<JsonDoc>>> versions;
    };
    // One table's cached rows: an open-addressing table of (hash, entry), so a probe
    // touches one slot line and then the entry; entries never move.
    struct Slot {
        uint64_t hash = 0;  // 0: empty
        Entry* entry = nullptr;
    };
    struct TableCache {
        std::string name;
        bool history = false;
        std::vector<Slot> slots = std::vector<Slot>(1024);
        std::vector<std::unique_ptr<Entry>> entries;
        Entry* find(std::string_view key, uint64_t h) const;
        Entry& insert(std::string_view key, uint64_t h);
        void clear();
    };
    TableCache& table_cache(std::string_view table) const;
    Entry& load(TableCache& t, std::string_view key, uint64_t h) const;

    const TableStore& store_;
    std::set<std::string, std::less<>> as_of_;
    size_t max_cached_;
    mutable std::unique_ptr<TableReader> reader_;
    mutable std::vector<std::unique_ptr<TableCache>> tables_;
    mutable TableCache* last_ = nullptr;  // the table of the last lookup
    mutable size_t cached_ = 0;
    mutable uint64_t generation_ = 0;
    mutable uint64_t lookups_ = 0, reads_ = 0;
};

}  // namespace vigil
