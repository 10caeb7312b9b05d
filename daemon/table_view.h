#pragma once
// The rules' view of the reference tables in LMDB (rules/table_lookup.h over
// storage/tables.h), one per engine thread.
//
// Cost per lookup: a hash-map probe of parsed rows. A row is read from LMDB and
// parsed once, then cached (misses too) until it changes: end_batch() (called by
// the worker between batches) closes the read transaction and re-reads the rows
// the store changed since (TableStore::changes_since). So at most one read transaction
// is open per batch, and none between batches. A field lookup
// (`table("devices", device).rated_temp`, lookup_field) has its own cache per
// (table, path) whose slot holds the key and a number field's value: one probe,
// one cache line, and the row is not touched. prefetch() reads that slot ahead
// (patterns/engine.h, Lookahead). A lookup naming its site (TableLookup::lookup_field)
// finds its table and field cache from the site number after the first time.
//
// Time (docs/tables.md): lookup(table, key, at) answers with the latest row,
// except for the tables named in `as_of` (replay of tables with `history`), which
// answer with the row as it was at event time `at`.
// Failure modes: none raised; an LMDB error reads as a missing row.
// Thread rules: one thread (the one that installed it with a TableScope).
#include <sys/mman.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "rules/expr_program.h"
#include "rules/table_lookup.h"
#include "storage/tables.h"

namespace vigil {

// Allocates arrays of 2 MiB and more on transparent huge pages where the kernel
// allows it (madvise mode).
template <class T>
struct HugePageAllocator {
    using value_type = T;
    static constexpr size_t kHuge = size_t(2) << 20;
    HugePageAllocator() = default;
    template <class U>
    HugePageAllocator(const HugePageAllocator<U>&) {}
    T* allocate(size_t n) {
        size_t bytes = n * sizeof(T);
        if (bytes < kHuge) return static_cast<T*>(::operator new(bytes, std::align_val_t(alignof(T))));
        bytes = (bytes + kHuge - 1) / kHuge * kHuge;
        void* p = std::aligned_alloc(kHuge, bytes);
        if (!p) throw std::bad_alloc();
        madvise(p, bytes, MADV_HUGEPAGE);
        return static_cast<T*>(p);
    }
    void deallocate(T* p, size_t n) {
        if (n * sizeof(T) < kHuge) ::operator delete(p, std::align_val_t(alignof(T)));
        else std::free(p);
    }
    bool operator==(const HugePageAllocator&) const { return true; }
};

class TableView final : public TableLookup {
public:
    explicit TableView(const TableStore& store, std::set<std::string, std::less<>> as_of = {},
                       size_t max_cached_rows = 1 << 20);
    ~TableView() override;

    JsonRef lookup(std::string_view table, std::string_view key, int64_t at) const override;
    Field lookup_field(std::string_view table, std::string_view key, int64_t at, const expr::PathSeg* segs,
                       uint32_t nsegs, uint64_t site = 0) const override;
    // Prefetches the field cache slot of (table, path, key): the slot where
    // lookup_field's probe starts.
    void prefetch(std::string_view table, std::string_view key, const expr::PathSeg* segs, uint32_t nsegs,
                  uint64_t site = 0) const override;
    // Ends the batch: the read snapshot is closed; the rows changed in the store since
    // are re-read (all cached rows dropped when more changed than the store's change
    // log holds, or the cache outgrew max_cached_rows).
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
    // A cached field: missing, a number (its value), or another JSON value (its
    // index in the entry's row).
    enum class Answer : uint8_t { Missing, Number, Other };
    // An open-addressing index (linear probing, at most half full) from a key to its
    // entry and, in a projection, the field's answer. A slot is 32 bytes, aligned: a
    // probe reads one cache line. A key of up to 14 bytes is kept in the slot, so a
    // probe compares it there; a longer one is compared with the entry's. Entries
    // never move.
    struct alignas(32) Slot {
        uint32_t tag = 0;    // the key hash's low half; the slot's home is tag & mask (at most 2^32 slots)
        uint32_t entry = 0;  // 1 + the entry's index in TableCache::entries; 0: an empty slot
        uint8_t len = 0;     // kLong: the key is the entry's
        Answer answer = Answer::Missing;
        char key[14] = {};
        union {
            double number;   // Answer::Number
            uint32_t index;  // Answer::Other
        } value{};
    };
    static_assert(sizeof(Slot) == 32);
    using Entries = std::vector<std::unique_ptr<Entry>>;
    // The entry a slot's `entry` number names.
    static Entry& entry(const Entries& entries, uint32_t n) { return *entries[n - 1]; }
    class Index {
    public:
        Slot* find(std::string_view key, uint64_t h, const Entries& entries);
        Slot& insert(std::string_view key, uint64_t h, uint32_t entry);
        void clear() { slots_.assign(1024, Slot{}), size_ = 0; }
        void prefetch(uint64_t h) const { __builtin_prefetch(&slots_[static_cast<uint32_t>(h) & (slots_.size() - 1)]); }

    private:
        static constexpr uint8_t kLong = 0xff;
        std::vector<Slot, HugePageAllocator<Slot>> slots_ = std::vector<Slot, HugePageAllocator<Slot>>(1024);
        size_t size_ = 0;
    };
    // The cached answers of one field path of a table.
    struct Projection {
        std::vector<expr::PathSeg> path;
        Index answers;
        bool same(const expr::PathSeg* segs, uint32_t nsegs) const;
    };
    // One table's cached rows, and its field projections.
    struct TableCache {
        std::string name;
        bool history = false;
        Index rows;
        Entries entries;
        std::vector<std::unique_ptr<Projection>> projections;
        Projection& projection(const expr::PathSeg* segs, uint32_t nsegs);
        void clear();
    };
    TableCache& table_cache(std::string_view table) const;
    // The table and (unless it keeps history) the projection of a field lookup, found
    // by name and path once per site, then by the site's number: a per-event lookup
    // compares no names. Forgotten when projections are dropped (clear_all).
    struct Site {
        uint64_t id = 0;
        TableCache* table = nullptr;
        Projection* projection = nullptr;  // null for a table with history
    };
    Site site(std::string_view table, const expr::PathSeg* segs, uint32_t nsegs, uint64_t id) const;
    uint32_t row(TableCache& t, std::string_view key, uint64_t h) const;
    // Reads the entry's row (or versions) from LMDB, replacing what it held.
    void read(const TableCache& t, Entry& e) const;
    // Caches in `s` the answer of the projection's path in the entry's row.
    static void answer(const Entry& e, const Projection& p, Slot& s);
    static Field field(const TableCache& t, const Slot& s);
    // Re-reads a changed row if it is cached, and its cached field answers.
    void refresh(std::string_view table, std::string_view key);
    void clear_all();

    const TableStore& store_;
    std::set<std::string, std::less<>> as_of_;
    size_t max_cached_;
    mutable std::unique_ptr<TableReader> reader_;
    mutable std::vector<std::unique_ptr<TableCache>> tables_;
    mutable TableCache* last_ = nullptr;  // the table of the last lookup
    mutable Site sites_[64];              // by site number modulo 64
    mutable size_t cached_ = 0;
    mutable uint64_t generation_ = 0;
    mutable uint64_t lookups_ = 0, reads_ = 0;
    std::vector<std::pair<std::string, std::string>> changed_;  // end_batch's scratch
};

}  // namespace vigil
