#pragma once
// Read access to reference tables (SPEC 3.5) for expressions (`table("devices",
// device).rated_temp`) and Lua (`ctx.lookup("cards", ev.card_id)`), without rules/
// knowing where the rows live: the daemon implements it over the LMDB store
// (daemon/table_view.h), `vigil test` over the `tables:` of a test case
// (InlineTables below).
//
// Which lookup an evaluation uses: EvalContext::tables when set, else the one
// installed on the current thread by a TableScope. The engine worker installs its
// view around each batch, replay and `vigil test` around their runs, so the pattern
// and window runtimes need not carry it.
//
// Guarantees: lookup() never throws and never fails loudly: an unknown table, a
// missing row or a row that is not a JSON object gives an invalid JsonRef (the
// expression sees null). A returned ref stays valid until the lookup's owner ends
// its batch (TableView::end_batch) or is destroyed; evaluation never outlives that.
// Thread rules: a TableLookup belongs to the thread that installed it.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/json.h"

namespace vigil {

namespace expr {
struct PathSeg;
}

// "Now" for lookup(): the latest row, whatever the table's history.
constexpr int64_t kLookupNow = INT64_MAX;

class TableLookup {
public:
    virtual ~TableLookup() = default;
    // The row of `table` under `key` as of event time `at` (kLookupNow: the latest).
    // An implementation without history answers with the latest row for any `at`.
    virtual JsonRef lookup(std::string_view table, std::string_view key, int64_t at) const = 0;

    // A field of that row, as `table("devices", device).rated_temp` reads it: the
    // member path segs[0..nsegs) followed from the row. The default follows the path
    // on lookup(); TableView answers from a per-(table, path) cache that holds a
    // number field's value, so the per-event path does not touch the row.
    struct Field {
        JsonRef ref;             // unless is_number: invalid when no row, or the row has no such field
        bool is_number = false;  // the field is a number, and `number` its value (ref may be left invalid)
        double number = 0;
    };
    // `site` names the expression's lookup (`table("t", KEY).path` in one compiled
    // expression: table and path fixed), unique in the process and never reused, so
    // an implementation may remember what it resolved for it; 0: unnamed.
    virtual Field lookup_field(std::string_view table, std::string_view key, int64_t at, const expr::PathSeg* segs,
                               uint32_t nsegs, uint64_t site = 0) const;
    // The Field of `ref` (the number read out when it is one).
    static Field field_of(JsonRef ref);
    // A hint that lookup_field(table, key, ..., segs, nsegs) comes soon: TableView
    // prefetches the cache slot it will read, so the cache miss overlaps other work.
    virtual void prefetch(std::string_view, std::string_view, const expr::PathSeg*, uint32_t, uint64_t = 0) const {}
    // A process-unique, never reused site number (the expression compiler's).
    static uint64_t new_site();
};

// The lookup installed on this thread (null: none, every lookup gives null).
const TableLookup* current_table_lookup();

// Installs `lookup` on this thread for the scope's lifetime, then restores the previous one.
class TableScope {
public:
    explicit TableScope(const TableLookup* lookup);
    ~TableScope();
    TableScope(const TableScope&) = delete;
    TableScope& operator=(const TableScope&) = delete;

private:
    const TableLookup* previous_;
};

// Tables written inline (a test case's `tables:`): name -> key -> row. Rows are
// JSON objects; each table may also list versions with a time for "as of" lookups.
class InlineTables final : public TableLookup {
public:
    // Adds (or replaces) a row; `json` must be a JSON object text. `since` is the time
    // the version takes effect (INT64_MIN: always). False when `json` does not parse.
    bool put(const std::string& table, const std::string& key, std::string_view json, int64_t since = INT64_MIN);
    bool has_table(std::string_view table) const { return tables_.find(table) != tables_.end(); }
    std::vector<std::string> names() const;

    JsonRef lookup(std::string_view table, std::string_view key, int64_t at) const override;

private:
    struct Version {
        int64_t since;
        std::unique_ptr<JsonDoc> doc;
    };
    std::map<std::string, std::map<std::string, std::vector<Version>, std::less<>>, std::less<>> tables_;
};

}  // namespace vigil
