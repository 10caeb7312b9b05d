// The thread's table lookup and inline tables (rules/table_lookup.h).
#include "rules/table_lookup.h"

#include <algorithm>
#include <atomic>

#include "rules/expr_eval.h"

namespace vigil {

namespace {
thread_local const TableLookup* t_lookup = nullptr;
}

const TableLookup* current_table_lookup() { return t_lookup; }

TableLookup::Field TableLookup::field_of(JsonRef ref) {
    Field f;
    f.ref = ref;
    if (ref.is_number()) {
        f.is_number = true;
        f.number = ref.as_number();
    }
    return f;
}

TableLookup::Field TableLookup::lookup_field(std::string_view table, std::string_view key, int64_t at,
                                             const expr::PathSeg* segs, uint32_t nsegs, uint64_t) const {
    return field_of(expr::follow(lookup(table, key, at), segs, nsegs));
}

uint64_t TableLookup::new_site() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

TableScope::TableScope(const TableLookup* lookup) : previous_(t_lookup) { t_lookup = lookup; }
TableScope::~TableScope() { t_lookup = previous_; }

bool InlineTables::put(const std::string& table, const std::string& key, std::string_view json, int64_t since) {
    auto doc = std::make_unique<JsonDoc>();
    if (!doc->parse(json) || !doc->root().is_object()) return false;
    auto& versions = tables_[table][key];
    auto it = std::find_if(versions.begin(), versions.end(), [&](const Version& v) { return v.since >= since; });
    if (it != versions.end() && it->since == since) {
        it->doc = std::move(doc);
    } else {
        versions.insert(it, Version{since, std::move(doc)});
    }
    return true;
}

std::vector<std::string> InlineTables::names() const {
    std::vector<std::string> out;
    for (const auto& [name, _] : tables_) out.push_back(name);
    return out;
}

JsonRef InlineTables::lookup(std::string_view table, std::string_view key, int64_t at) const {
    auto t = tables_.find(table);
    if (t == tables_.end()) return {};
    auto r = t->second.find(key);
    if (r == t->second.end()) return {};
    // The newest version in effect at `at` (versions are sorted by `since`).
    const Version* best = nullptr;
    for (const auto& v : r->second)
        if (v.since <= at) best = &v;
    return best ? best->doc->root() : JsonRef();
}

}  // namespace vigil
