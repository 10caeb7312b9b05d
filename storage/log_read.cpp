// EventLog readers: short read transactions, chunked scans, stats, waiting for data.
#include <thread>

#include "storage/log_impl.h"

namespace vigil {
namespace {

// A read transaction held under the shared gate (so the map is not remapped under
// it). Members are destroyed in reverse order: the transaction ends before the
// gate is released.
struct ReadScope {
    explicit ReadScope(const EventLog::Impl& im) : lock(wait_turn(im)) {
        rc = txn.begin_read(im.env.get());
        if (rc == MDB_MAP_RESIZED) {  // another process grew the map: adopt its size
            lock.unlock();
            {
                std::unique_lock grow(im.gate);
                if (mdb_env_set_mapsize(im.env.get(), 0) == 0) {
                    MDB_envinfo info{};
                    mdb_env_info(im.env.get(), &info);
                    im.map_size.store(info.me_mapsize);
                }
            }
            lock.lock();
            rc = txn.begin_read(im.env.get());
        }
    }
    static std::shared_timed_mutex& wait_turn(const EventLog::Impl& im) {
        while (im.resize_pending.load(std::memory_order_acquire)) std::this_thread::yield();
        return im.gate;
    }
    std::shared_lock<std::shared_timed_mutex> lock;
    mdb::Txn txn;
    int rc = 0;
};

Status read_error(const char* what, int rc) {
    return Status::fail(std::string("storage: ") + what + ": " + mdb::error_text(rc));
}

Status bad_partition(uint32_t p, uint32_t n) {
    return Status::fail("storage: partition " + std::to_string(p) + " does not exist (the log has " +
                        std::to_string(n) + ")");
}

bool decode_at(std::string_view k, std::string_view v, uint32_t p, RecordView& r) {
    if (k.size() != 8 || !decode_record(v, r)) return false;
    r.partition = p;
    r.offset = get_be64(k.data());
    return true;
}

Status corrupt(uint32_t p, std::string_view k) {
    return Status::fail("storage: record " + std::to_string(p) + "/" +
                        std::to_string(k.size() == 8 ? get_be64(k.data()) : 0) + " has an unknown format");
}

}  // namespace

Status EventLog::scan(uint32_t p, uint64_t from, uint64_t limit, const RecordFn& fn) const {
    if (p >= impl_->partitions) return bad_partition(p, impl_->partitions);
    uint64_t next = std::max<uint64_t>(from, 1), seen = 0;
    for (;;) {
        ReadScope rs(*impl_);
        if (rs.rc) return read_error("read transaction", rs.rc);
        mdb::Cursor c;
        if (int rc = c.open(rs.txn, impl_->log_dbi[p])) return read_error("cursor", rc);
        char kb[8];
        put_be64(kb, next);
        std::string_view k, v;
        int rc = c.seek({kb, 8}, k, v);
        for (uint32_t n = 0; rc == 0; rc = c.get(k, v, MDB_NEXT)) {
            RecordView r;
            if (!decode_at(k, v, p, r)) return corrupt(p, k);
            if (!fn(r) || (limit && ++seen >= limit)) return {};
            next = r.offset + 1;
            if (++n >= impl_->opts.read_chunk) break;  // end this transaction, resume in a new one
        }
        if (rc == MDB_NOTFOUND) return {};
        if (rc) return read_error("scan", rc);
    }
}

Status EventLog::read(uint32_t p, uint64_t from, uint64_t limit, std::vector<Record>& out) const {
    return scan(p, from, limit, [&](const RecordView& r) {
        out.push_back(Record::from(r));
        return true;
    });
}

Status EventLog::scan_time(uint32_t p, int64_t from_time, int64_t to_time, uint64_t limit,
                           const RecordFn& fn) const {
    if (p >= impl_->partitions) return bad_partition(p, impl_->partitions);
    char next[16];
    encode_time_key(from_time, 0, next);
    uint64_t seen = 0;
    for (;;) {
        ReadScope rs(*impl_);
        if (rs.rc) return read_error("read transaction", rs.rc);
        mdb::Cursor c, log;
        if (int rc = c.open(rs.txn, impl_->time_dbi[p])) return read_error("cursor", rc);
        if (int rc = log.open(rs.txn, impl_->log_dbi[p])) return read_error("cursor", rc);
        // The log cursor's offset (0: not placed). Events mostly arrive in time order, so
        // the next record in time is mostly the next in the log: one step, not a search.
        uint64_t at = 0;
        std::string_view k, v;
        int rc = c.seek({next, 16}, k, v);
        for (uint32_t n = 0; rc == 0; rc = c.get(k, v, MDB_NEXT)) {
            int64_t t;
            uint64_t off;
            decode_time_key(k, t, off);
            if (t >= to_time) return {};
            encode_time_key(t, off + 1, next);
            char kb[8];
            put_be64(kb, off);
            std::string_view found, rec;
            int g = at != 0 && off == at + 1 ? log.get(found, rec, MDB_NEXT) : log.seek({kb, 8}, found, rec);
            at = g == 0 && found.size() == 8 ? get_be64(found.data()) : 0;
            if (g != 0 || at != off) continue;  // removed by retention
            RecordView r;
            if (!decode_at({kb, 8}, rec, p, r)) return corrupt(p, {kb, 8});
            if (!fn(r) || (limit && ++seen >= limit)) return {};
            if (++n >= impl_->opts.read_chunk) break;
        }
        if (rc == MDB_NOTFOUND) return {};
        if (rc) return read_error("time scan", rc);
    }
}

uint64_t EventLog::last_offset(uint32_t p) const {
    if (p >= impl_->partitions) return 0;
    if (!impl_->opts.read_only) return impl_->last_offset[p].load(std::memory_order_acquire);
    PartitionStats st;
    return stats(p, st).ok ? st.last_offset : 0;
}

uint64_t EventLog::first_offset(uint32_t p) const {
    PartitionStats st;
    return stats(p, st).ok ? st.first_offset : 0;
}

Status EventLog::stats(uint32_t p, PartitionStats& out) const {
    if (p >= impl_->partitions) return bad_partition(p, impl_->partitions);
    out = PartitionStats{};
    out.partition = p;
    ReadScope rs(*impl_);
    if (rs.rc) return read_error("read transaction", rs.rc);
    MDB_stat ls{}, ts{};
    mdb_stat(rs.txn.get(), impl_->log_dbi[p], &ls);
    mdb_stat(rs.txn.get(), impl_->time_dbi[p], &ts);
    out.records = ls.ms_entries;
    auto pages = [](const MDB_stat& s) {
        return (static_cast<uint64_t>(s.ms_branch_pages) + s.ms_leaf_pages + s.ms_overflow_pages) * s.ms_psize;
    };
    out.bytes = pages(ls) + pages(ts);
    mdb::Cursor c, t;
    c.open(rs.txn, impl_->log_dbi[p]);
    t.open(rs.txn, impl_->time_dbi[p]);
    std::string_view k, v;
    RecordView r;
    if (c.get(k, v, MDB_FIRST) == 0 && decode_at(k, v, p, r)) out.first_offset = r.offset, out.first_event_time = r.event_time;
    if (c.get(k, v, MDB_LAST) == 0 && decode_at(k, v, p, r)) out.last_offset = r.offset, out.last_event_time = r.event_time;
    uint64_t off;
    if (t.get(k, v, MDB_FIRST) == 0) decode_time_key(k, out.min_event_time, off);
    if (t.get(k, v, MDB_LAST) == 0) decode_time_key(k, out.max_event_time, off);
    if (out.records == 0 && rs.txn.get(impl_->meta_dbi, "last/" + std::to_string(p), v) == 0 && v.size() == 8)
        out.last_offset = get_be64(v.data());  // emptied by retention: the end offset survives in meta
    return {};
}

MapInfo EventLog::map_info() const {
    std::shared_lock lock(impl_->gate);  // not while the writer remaps
    MapInfo m;
    MDB_envinfo info{};
    mdb_env_info(impl_->env.get(), &info);
    m.map_size = info.me_mapsize;
    m.used_bytes = impl_->used_bytes();
    m.readers_used = info.me_numreaders;
    m.readers_max = info.me_maxreaders;
    m.map_grows = impl_->map_grows.load();
    m.commits = impl_->commits.load();
    m.stale_readers_cleared = impl_->stale_readers.load();
    m.retention_deleted = impl_->retention_deleted.load();
    m.retention_alerts_deleted = impl_->retention_alerts_deleted.load();
    return m;
}

bool EventLog::wait_for(uint32_t p, uint64_t after, std::chrono::milliseconds timeout) const {
    return wait_for_any({{p, after}}, timeout);
}

bool EventLog::wait_for_any(const std::vector<std::pair<uint32_t, uint64_t>>& after,
                            std::chrono::milliseconds timeout) const {
    // last_offset() reads LMDB when read-only (no writer here keeps the counters).
    auto has_new = [&] {
        for (const auto& [p, a] : after)
            if (p < impl_->partitions && last_offset(p) > a) return true;
        return false;
    };
    if (impl_->opts.read_only) return has_new();
    std::unique_lock lock(impl_->data_mu);
    return impl_->data_cv.wait_for(lock, timeout, has_new);
}

bool EventLog::wait_for_outbox(uint64_t after_seq, std::chrono::milliseconds timeout) const {
    if (impl_->opts.read_only) return false;
    std::unique_lock lock(impl_->data_mu);
    return impl_->data_cv.wait_for(lock, timeout, [&] { return impl_->last_outbox_seq.load() > after_seq; });
}

std::optional<uint64_t> EventLog::consumer_offset(std::string_view consumer, uint32_t p) const {
    ReadScope rs(*impl_);
    std::string_view v;
    if (rs.rc || rs.txn.get(impl_->offsets_dbi, offsets_key(consumer, p), v) || v.size() != 8) return std::nullopt;
    return get_be64(v.data());
}

Status EventLog::consumer_offsets(std::vector<OffsetCommit>& out) const {
    ReadScope rs(*impl_);
    if (rs.rc) return read_error("read transaction", rs.rc);
    mdb::Cursor c;
    c.open(rs.txn, impl_->offsets_dbi);
    std::string_view k, v;
    for (int rc = c.get(k, v, MDB_FIRST); rc == 0; rc = c.get(k, v, MDB_NEXT)) {
        OffsetCommit o;
        if (!decode_offsets_key(k, o.consumer, o.partition) || v.size() != 8) continue;
        o.offset = get_be64(v.data());
        out.push_back(std::move(o));
    }
    return {};
}

std::optional<std::string> EventLog::state_get(std::string_view rule, uint32_t p, std::string_view key) const {
    ReadScope rs(*impl_);
    std::string_view v;
    if (rs.rc || rs.txn.get(impl_->state_dbi, state_key(rule, p, key), v)) return std::nullopt;
    return std::string(v);
}

Status EventLog::state_scan(std::string_view rule, uint32_t p,
                            const std::function<bool(std::string_view, std::string_view)>& fn) const {
    ReadScope rs(*impl_);
    if (rs.rc) return read_error("read transaction", rs.rc);
    std::string prefix = state_prefix(rule, p);
    mdb::Cursor c;
    c.open(rs.txn, impl_->state_dbi);
    std::string_view k, v;
    for (int rc = c.seek(prefix, k, v); rc == 0; rc = c.get(k, v, MDB_NEXT)) {
        if (k.substr(0, prefix.size()) != prefix) break;
        if (!fn(k.substr(prefix.size()), v)) break;
    }
    return {};
}

Status EventLog::outbox_scan(uint64_t after_seq, uint64_t limit, std::vector<OutboxEntry>& out) const {
    ReadScope rs(*impl_);
    if (rs.rc) return read_error("read transaction", rs.rc);
    mdb::Cursor c;
    c.open(rs.txn, impl_->outbox_dbi);
    std::string from = be64_key(after_seq + 1);
    std::string_view k, v;
    for (int rc = c.seek(from, k, v); rc == 0 && (!limit || out.size() < limit); rc = c.get(k, v, MDB_NEXT)) {
        OutboxEntry e;
        std::string_view topic, json;
        if (k.size() != 8 || !decode_outbox(v, topic, e.qos, json)) continue;
        e.seq = get_be64(k.data());
        e.topic.assign(topic);
        e.json.assign(json);
        out.push_back(std::move(e));
    }
    return {};
}

namespace {
uint64_t entries_of(const EventLog::Impl& im, MDB_dbi dbi) {
    ReadScope rs(im);
    MDB_stat st{};
    if (rs.rc || mdb_stat(rs.txn.get(), dbi, &st)) return 0;
    return st.ms_entries;
}
}  // namespace

uint64_t EventLog::outbox_last_seq() const { return impl_->last_outbox_seq.load(); }
uint64_t EventLog::outbox_size() const { return entries_of(*impl_, impl_->outbox_dbi); }
uint64_t EventLog::alerts_size() const { return entries_of(*impl_, impl_->alerts_dbi); }

Status EventLog::alerts_scan(int64_t from_time, int64_t to_time,
                             const std::function<bool(int64_t, std::string_view, std::string_view)>& fn) const {
    ReadScope rs(*impl_);
    if (rs.rc) return read_error("read transaction", rs.rc);
    mdb::Cursor c;
    c.open(rs.txn, impl_->alerts_dbi);
    std::string from = be64_key(time_bits(from_time));
    std::string_view k, v;
    for (int rc = c.seek(from, k, v); rc == 0; rc = c.get(k, v, MDB_NEXT)) {
        if (k.size() < 8) continue;
        int64_t t = time_from_bits(get_be64(k.data()));
        if (t >= to_time || !fn(t, k.substr(8), v)) break;
    }
    return {};
}

}  // namespace vigil
