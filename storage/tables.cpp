// Reference tables in LMDB (storage/tables.h).
#include "storage/tables.h"

#include <algorithm>

#include <cerrno>
#include <filesystem>
#include <map>

#include "storage/mdb.h"
#include "storage/record.h"

namespace vigil {

namespace {

std::string row_key(std::string_view table, std::string_view key) {
    std::string k;
    k.reserve(table.size() + 1 + key.size());
    k.append(table).push_back('\0');
    k.append(key);
    return k;
}

std::string history_prefix(std::string_view table, std::string_view key) {
    std::string k = row_key(table, key);
    k.push_back('\0');
    return k;
}

std::string history_key(std::string_view table, std::string_view key, int64_t t) {
    std::string k = history_prefix(table, key);
    size_t at = k.size();
    k.resize(at + 8);
    put_be64(k.data() + at, time_bits(t));
    return k;
}

// Is `k` a history key of the key whose prefix is `prefix` (not of a longer key)?
bool is_version_of(std::string_view k, std::string_view prefix) {
    return k.size() == prefix.size() + 8 && k.substr(0, prefix.size()) == prefix;
}

int64_t version_time(std::string_view k) { return time_from_bits(get_be64(k.data() + k.size() - 8)); }

}  // namespace

struct TableStore::Impl {
    mdb::Env env;
    MDB_dbi rows = 0, history = 0;
    bool read_only = false;

    int put_row(mdb::Txn& txn, const TableWrite& w, int64_t time);
    int prune(mdb::Txn& txn, std::string_view table, std::string_view key, int64_t cutoff);
};

struct TableReader::Impl {
    const TableStore::Impl* store = nullptr;
    mdb::Txn txn;
    bool open = false;

    int begin() {
        if (open) return 0;
        int rc = txn.begin_read(store->env.get());
        open = rc == 0;
        return rc;
    }
};

std::unique_ptr<TableStore> TableStore::open(const std::string& dir, uint64_t map_size, bool read_only,
                                             std::string* error) {
    auto fail = [&](const std::string& what, int rc) -> std::unique_ptr<TableStore> {
        if (error) *error = "tables in " + dir + ": " + what + ": " + mdb::error_text(rc);
        return nullptr;
    };
    std::error_code ec;
    if (!read_only) std::filesystem::create_directories(dir, ec);
    if (ec) return fail("cannot create the folder", ec.value());
    auto im = std::make_unique<Impl>();
    im->read_only = read_only;
    int rc = im->env.create();
    if (!rc) rc = mdb_env_set_maxdbs(im->env.get(), 4);
    if (!rc) rc = mdb_env_set_mapsize(im->env.get(), map_size);
    if (!rc) rc = mdb_env_set_maxreaders(im->env.get(), 126);
    if (rc) return fail("cannot set up LMDB", rc);
    unsigned flags = MDB_NOTLS | (read_only ? MDB_RDONLY : 0u);
    if ((rc = im->env.open(dir, flags))) return fail("cannot open", rc);
    mdb::Txn txn;
    if ((rc = read_only ? txn.begin_read(im->env.get()) : txn.begin_write(im->env.get())))
        return fail("cannot begin a transaction", rc);
    unsigned create = read_only ? 0u : static_cast<unsigned>(MDB_CREATE);
    rc = mdb_dbi_open(txn.get(), "rows", create, &im->rows);
    if (!rc) rc = mdb_dbi_open(txn.get(), "history", create, &im->history);
    if (rc) return fail("cannot open its databases", rc);
    if ((rc = txn.commit())) return fail("cannot commit", rc);
    return std::unique_ptr<TableStore>(new TableStore(std::move(im)));
}

TableStore::TableStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TableStore::~TableStore() = default;

int TableStore::Impl::prune(mdb::Txn& txn, std::string_view table, std::string_view key, int64_t cutoff) {
    std::string prefix = history_prefix(table, key);
    std::vector<std::string> old;
    {
        mdb::Cursor c;
        int rc = c.open(txn, history);
        if (rc) return rc;
        std::string_view k, v;
        for (rc = c.seek(prefix, k, v); rc == 0 && is_version_of(k, prefix); rc = c.get(k, v, MDB_NEXT)) {
            if (version_time(k) >= cutoff) break;
            old.emplace_back(k);
        }
        if (rc && rc != MDB_NOTFOUND) return rc;
    }
    // The newest version at or before the cutoff still answers "as of" the cutoff.
    if (!old.empty()) old.pop_back();
    for (const auto& k : old)
        if (int rc = txn.del(history, k)) return rc;
    return 0;
}

int TableStore::Impl::put_row(mdb::Txn& txn, const TableWrite& w, int64_t time) {
    if (w.table.find('\0') != std::string::npos || w.key.find('\0') != std::string::npos) return EINVAL;
    std::string k = row_key(w.table, w.key);
    int rc = w.erase ? txn.del(rows, k) : txn.put(rows, k, w.json);
    if (rc == MDB_NOTFOUND) rc = 0;
    if (rc || w.history_ms == 0) return rc;
    if ((rc = txn.put(history, history_key(w.table, w.key, time), w.erase ? std::string_view() : w.json))) return rc;
    if (w.history_ms == kHistoryForever || time < INT64_MIN + w.history_ms) return 0;
    return prune(txn, w.table, w.key, time - w.history_ms);
}

Status TableStore::apply(const std::vector<TableWrite>& writes, int64_t time) {
    if (writes.empty()) return {};
    if (impl_->read_only) return Status::fail("tables: opened read-only");
    std::lock_guard lk(write_mu_);
    mdb::Txn txn;
    int rc = txn.begin_write(impl_->env.get());
    if (rc) return Status::fail("tables: cannot begin a write: " + mdb::error_text(rc));
    for (const auto& w : writes) {
        if ((rc = impl_->put_row(txn, w, time)))
            return Status::fail("tables: cannot write " + w.table + "/" + w.key + ": " + mdb::error_text(rc));
    }
    if ((rc = txn.commit())) return Status::fail("tables: commit failed: " + mdb::error_text(rc));
    std::vector<Change> changes;
    for (const auto& w : writes) changes.push_back({0, w.table, w.key});
    committed(std::move(changes));
    return {};
}

void TableStore::committed(std::vector<Change> changes) {
    std::lock_guard lk(changes_mu_);
    const uint64_t g = generation_.load(std::memory_order_relaxed) + 1;
    for (auto& c : changes) {
        c.generation = g;
        changes_.push_back(std::move(c));
    }
    while (changes_.size() > kChangeLog) {
        forgotten_ = changes_.front().generation;
        changes_.pop_front();
    }
    generation_.store(g, std::memory_order_release);
}

bool TableStore::changes_since(uint64_t since, std::vector<std::pair<std::string, std::string>>& out,
                               uint64_t& generation) const {
    std::lock_guard lk(changes_mu_);
    generation = generation_.load(std::memory_order_relaxed);
    if (forgotten_ > since) return false;
    auto it = std::partition_point(changes_.begin(), changes_.end(),
                                   [&](const Change& c) { return c.generation <= since; });
    for (; it != changes_.end(); ++it) out.emplace_back(it->table, it->key);
    return true;
}

Status TableStore::replace(const std::string& table, const std::vector<TableRow>& rows_in, int64_t time,
                           int64_t history_ms, size_t* changed) {
    if (impl_->read_only) return Status::fail("tables: opened read-only");
    std::lock_guard lk(write_mu_);
    mdb::Txn txn;
    int rc = txn.begin_write(impl_->env.get());
    if (rc) return Status::fail("tables: cannot begin a write: " + mdb::error_text(rc));
    std::map<std::string, std::string, std::less<>> current;
    std::string prefix = row_key(table, "");
    {
        mdb::Cursor c;
        if ((rc = c.open(txn, impl_->rows))) return Status::fail("tables: " + mdb::error_text(rc));
        std::string_view k, v;
        for (rc = c.seek(prefix, k, v); rc == 0 && k.starts_with(prefix); rc = c.get(k, v, MDB_NEXT))
            current.emplace(std::string(k.substr(prefix.size())), std::string(v));
    }
    std::vector<Change> changes;
    TableWrite w;
    w.table = table;
    w.history_ms = history_ms;
    for (const auto& r : rows_in) {
        auto it = current.find(r.key);
        bool same = it != current.end() && it->second == r.json;
        if (it != current.end()) current.erase(it);
        if (same) continue;
        w.key = r.key;
        w.json = r.json;
        if ((rc = impl_->put_row(txn, w, time)))
            return Status::fail("tables: cannot write " + table + "/" + r.key + ": " + mdb::error_text(rc));
        changes.push_back({0, table, r.key});
    }
    w.erase = true;
    w.json.clear();
    for (const auto& [key, _] : current) {
        w.key = key;
        if ((rc = impl_->put_row(txn, w, time)))
            return Status::fail("tables: cannot delete " + table + "/" + key + ": " + mdb::error_text(rc));
        changes.push_back({0, table, key});
    }
    if (changed) *changed = changes.size();
    if (changes.empty()) return {};
    if ((rc = txn.commit())) return Status::fail("tables: commit failed: " + mdb::error_text(rc));
    committed(std::move(changes));
    return {};
}

size_t TableStore::size(const std::string& table) const {
    mdb::Txn txn;
    if (txn.begin_read(impl_->env.get())) return 0;
    mdb::Cursor c;
    if (c.open(txn, impl_->rows)) return 0;
    std::string prefix = row_key(table, "");
    size_t n = 0;
    std::string_view k, v;
    for (int rc = c.seek(prefix, k, v); rc == 0 && k.starts_with(prefix); rc = c.get(k, v, MDB_NEXT)) ++n;
    return n;
}

std::unique_ptr<TableReader> TableStore::reader() const {
    auto im = std::make_unique<TableReader::Impl>();
    im->store = impl_.get();
    return std::unique_ptr<TableReader>(new TableReader(std::move(im)));
}

TableReader::TableReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TableReader::~TableReader() = default;

void TableReader::end() {
    impl_->txn.abort();
    impl_->open = false;
}

bool TableReader::get(std::string_view table, std::string_view key, std::string_view& json) {
    if (impl_->begin()) return false;
    return impl_->txn.get(impl_->store->rows, row_key(table, key), json) == 0;
}

std::vector<std::pair<int64_t, std::string>> TableReader::versions(std::string_view table, std::string_view key) {
    std::vector<std::pair<int64_t, std::string>> out;
    if (impl_->begin()) return out;
    mdb::Cursor c;
    if (c.open(impl_->txn, impl_->store->history)) return out;
    std::string prefix = history_prefix(table, key);
    std::string_view k, v;
    for (int rc = c.seek(prefix, k, v); rc == 0 && is_version_of(k, prefix); rc = c.get(k, v, MDB_NEXT))
        out.emplace_back(version_time(k), std::string(v));
    return out;
}

}  // namespace vigil
