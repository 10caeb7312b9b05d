// EventLog's writer thread: group commit, map growth and the periodic sync thread.
#include <spdlog/spdlog.h>

#include "rules/hash.h"
#include "storage/log_impl.h"

namespace vigil {
namespace {

constexpr uint64_t kGiB = 1ULL << 30;
constexpr size_t kMaxKeyBytes = 511;  // LMDB's default maximum key size

// What a transaction under construction changes; committed into Impl on success.
struct TxnState {
    std::vector<uint64_t> next;
    std::vector<std::string> last_time;  // last time-index key, read on first use per transaction
    uint64_t next_seq = 1;
    std::vector<mdb::Cursor> log_cur, time_cur;
    bool appended = false;
    bool outbox_synced = false;
};

// Opens the partition's cursors on first use in a transaction and takes the
// partition's end from the database itself: another process (`vigil ingest` next
// to the daemon) may have appended since this one last wrote. The write
// transaction holds LMDB's write lock, so what it reads here cannot move.
int open_partition(EventLog::Impl& im, const mdb::Txn& txn, TxnState& ts, uint32_t p) {
    if (ts.log_cur[p].get()) return 0;
    int rc = ts.log_cur[p].open(txn, im.log_dbi[p]);
    if (!rc) rc = ts.time_cur[p].open(txn, im.time_dbi[p]);
    if (rc) return rc;
    std::string_view k, v;
    if (ts.log_cur[p].get(k, v, MDB_LAST) == 0 && k.size() == 8)
        ts.next[p] = std::max(ts.next[p], get_be64(k.data()) + 1);
    if (ts.time_cur[p].get(k, v, MDB_LAST) == 0) ts.last_time[p].assign(k);
    return 0;
}

std::string check_append(const EventLog::Impl& im, AppendRequest& r) {
    if (r.partition == kPartitionByKey)
        r.partition = static_cast<uint32_t>(stable_hash64(r.key) % im.partitions);
    if (r.partition >= im.partitions)
        return "storage: partition " + std::to_string(r.partition) + " does not exist (the log has " +
               std::to_string(im.partitions) + ")";
    if (r.stream.size() > kMaxHeaderField || r.key.size() > kMaxHeaderField || r.topic.size() > kMaxHeaderField)
        return "storage: stream, key and topic must each be at most 65535 bytes";
    return {};
}

std::string check_commit(const CommitBatch& b, uint32_t partitions) {
    for (const auto& o : b.offsets)
        if (o.consumer.size() + 5 > kMaxKeyBytes || o.partition >= partitions)
            return "storage: bad consumer offset for '" + o.consumer + "' partition " + std::to_string(o.partition);
    for (const auto& s : b.state)
        if (s.rule.size() + 5 + s.key.size() > kMaxKeyBytes)
            return "storage: state key too long for rule '" + s.rule + "' (rule id + key must be < 506 bytes)";
    for (const auto& a : b.alerts)
        if (a.id.size() + 8 > kMaxKeyBytes || a.topic.size() > kMaxHeaderField)
            return "storage: alert id or topic too long";
    return {};
}

int put_record(EventLog::Impl& im, mdb::Txn& txn, TxnState& ts, const AppendRequest& r, uint64_t& offset) {
    uint32_t p = r.partition;
    if (int rc = open_partition(im, txn, ts, p)) return rc;
    offset = ts.next[p];
    char k[8];
    put_be64(k, offset);
    char* dst = nullptr;
    size_t size = record_size(r.stream, r.key, r.topic, r.payload);
    int rc = ts.log_cur[p].reserve({k, 8}, size, dst, MDB_APPEND);
    if (rc) return rc;
    encode_record_into(dst, r.event_time, r.ingest_time, r.stream, r.key, r.topic, r.payload);
    char tk[16];
    encode_time_key(r.event_time, offset, tk);
    std::string_view tkv(tk, 16);
    bool in_order = ts.last_time[p].empty() || tkv > std::string_view(ts.last_time[p]);
    if ((rc = ts.time_cur[p].put(tkv, {}, in_order ? MDB_APPEND : 0))) return rc;
    if (in_order) ts.last_time[p].assign(tkv);
    ts.next[p] = offset + 1;
    ts.appended = true;
    return 0;
}

int put_commit(EventLog::Impl& im, mdb::Txn& txn, TxnState& ts, CommitItem& it) {
    int rc = 0;
    char v[8];
    for (const auto& o : it.batch.offsets) {
        put_be64(v, o.offset);
        if ((rc = txn.put(im.offsets_dbi, offsets_key(o.consumer, o.partition), {v, 8}))) return rc;
    }
    for (const auto& s : it.batch.state) {
        std::string k = state_key(s.rule, s.partition, s.key);
        rc = s.erase ? txn.del(im.state_dbi, k) : txn.put(im.state_dbi, k, s.value);
        if (rc && rc != MDB_NOTFOUND) return rc;
    }
    for (const auto& a : it.batch.alerts) {
        std::string akey = alert_key(a.time, a.id);
        if ((rc = txn.put(im.alerts_dbi, akey, a.json))) return rc;
        if (!a.outbox) continue;
        if (!ts.outbox_synced) {  // as open_partition: the database has the last word
            ts.outbox_synced = true;
            std::string_view k, ov;
            mdb::Cursor c;
            if (c.open(txn, im.outbox_dbi) == 0 && c.get(k, ov, MDB_LAST) == 0 && k.size() == 8)
                ts.next_seq = std::max(ts.next_seq, get_be64(k.data()) + 1);
        }
        uint64_t seq = ts.next_seq++;
        put_be64(v, seq);
        if ((rc = txn.put(im.outbox_dbi, {v, 8}, encode_outbox(a.topic, a.qos, a.json, akey), MDB_APPEND))) return rc;
        it.result.outbox_seqs.push_back(seq);
    }
    return 0;
}

int apply(EventLog::Impl& im, mdb::Txn& txn, TxnState& ts, WriteItem& item) {
    int rc = 0;
    if (auto* a = std::get_if<AppendItem>(&item)) {
        a->result = AppendResult{true, a->req.partition, 0, {}};
        return put_record(im, txn, ts, a->req, a->result.offset);
    }
    if (auto* b = std::get_if<BatchItem>(&item)) {
        b->result = BatchResult{true, {}, {}};
        b->result.positions.reserve(b->reqs.size());
        for (const auto& r : b->reqs) {
            uint64_t off = 0;
            if ((rc = put_record(im, txn, ts, r, off))) return rc;
            b->result.positions.emplace_back(r.partition, off);
        }
        return 0;
    }
    if (auto* c = std::get_if<CommitItem>(&item)) {
        c->result = CommitResult{true, {}, {}};
        return put_commit(im, txn, ts, *c);
    }
    if (auto* d = std::get_if<DeleteItem>(&item)) {
        char k[8];
        for (uint64_t seq : d->seqs) {
            put_be64(k, seq);
            rc = txn.del(im.outbox_dbi, {k, 8});
            if (rc && rc != MDB_NOTFOUND) return rc;
        }
    }
    return 0;
}

void finish(WriteItem& item, const std::string& error) {
    bool ok = error.empty();
    std::visit(
        [&](auto& it) {
            using T = std::decay_t<decltype(it)>;
            if constexpr (std::is_same_v<T, DeleteItem> || std::is_same_v<T, RetentionItem>) {
                it.done.set_value(ok ? Status{} : Status::fail(error));
            } else {
                if (!ok) it.result = {};
                it.result.ok = ok;
                it.result.error = error;
                it.done.set_value(std::move(it.result));
            }
        },
        item);
}

size_t item_bytes(const WriteItem& item) {
    if (auto* a = std::get_if<AppendItem>(&item)) return a->req.payload.size() + 64;
    if (auto* b = std::get_if<BatchItem>(&item)) {
        size_t n = 0;
        for (const auto& r : b->reqs) n += r.payload.size() + 64;
        return n;
    }
    if (auto* c = std::get_if<CommitItem>(&item)) {
        size_t n = 64;
        for (const auto& s : c->batch.state) n += s.value.size() + s.key.size();
        for (const auto& a : c->batch.alerts) n += 2 * a.json.size();
        return n;
    }
    return 64;
}

// Fails the item at once when it can never be written; returns whether it did.
bool reject_invalid(const EventLog::Impl& im, WriteItem& item) {
    std::string err;
    if (auto* a = std::get_if<AppendItem>(&item)) err = check_append(im, a->req);
    if (auto* b = std::get_if<BatchItem>(&item))
        for (size_t i = 0; i < b->reqs.size() && err.empty(); ++i)
            if (!(err = check_append(im, b->reqs[i])).empty()) err += " (batch item " + std::to_string(i) + ")";
    if (auto* c = std::get_if<CommitItem>(&item)) err = check_commit(c->batch, im.partitions);
    if (err.empty()) return false;
    finish(item, err);
    return true;
}

// Writes items [begin, end) in one transaction, growing the map or splitting the
// group when LMDB asks for it, and completes every item.
void run_group(EventLog::Impl& im, std::vector<WriteItem>& items, size_t begin, size_t end) {
    for (;;) {
        TxnState ts;
        ts.next = im.next_offset;
        ts.last_time.resize(im.partitions);
        ts.next_seq = im.next_outbox_seq;
        ts.log_cur.resize(im.partitions);
        ts.time_cur.resize(im.partitions);
        mdb::Txn txn;
        int rc = txn.begin_write(im.env.get());
        for (size_t i = begin; i < end && rc == 0; ++i) rc = apply(im, txn, ts, items[i]);
        ts.log_cur.clear();  // write-txn cursors must go before the transaction ends
        ts.time_cur.clear();
        if (rc == 0) rc = txn.commit();
        txn.abort();
        if (rc == 0) {
            im.commits.fetch_add(1, std::memory_order_relaxed);
            im.next_offset = std::move(ts.next);
            im.next_outbox_seq = ts.next_seq;
            // Publish before completing: a caller that saw its future complete must
            // also see its records in last_offset() and wait_for().
            if (ts.appended || ts.outbox_synced) im.publish(im.next_offset, im.next_outbox_seq);
            for (size_t i = begin; i < end; ++i) finish(items[i], {});
            return;
        }
        std::string why;
        if (rc == MDB_MAP_FULL && im.grow_map(why, std::chrono::seconds(10)) == 0) continue;
        if (rc == MDB_MAP_RESIZED && im.adopt_map_size(why) == 0) continue;
        if (rc == MDB_TXN_FULL && end - begin > 1) {
            size_t mid = begin + (end - begin) / 2;
            run_group(im, items, begin, mid);
            run_group(im, items, mid, end);
            return;
        }
        std::string error = "storage: commit failed: " + mdb::error_text(rc) + (why.empty() ? "" : " (" + why + ")");
        spdlog::error("{} ({} request(s) refused, nothing of them stored)", error, end - begin);
        for (size_t i = begin; i < end; ++i) finish(items[i], error);
        return;
    }
}

}  // namespace

void EventLog::Impl::enqueue(WriteItem item) {
    bool queued = false;
    {
        std::lock_guard lock(queue_mu);
        if (!stopping) {
            queue.push_back(std::move(item));
            queued = true;
        }
    }
    if (!queued) return finish(item, "storage: the log is closing");
    queue_cv.notify_one();
}

void EventLog::Impl::publish(const std::vector<uint64_t>& next, uint64_t outbox_next) {
    {
        std::lock_guard lock(data_mu);
        for (uint32_t p = 0; p < partitions; ++p) last_offset[p].store(next[p] - 1, std::memory_order_release);
        last_outbox_seq.store(outbox_next - 1, std::memory_order_release);
    }
    data_cv.notify_all();
}

void EventLog::Impl::start_threads() {
    retention_due = now() + opts.retention_interval_ms;  // first check one interval after open
    next_reader_check = now() + 60'000;                  // open() has just checked
    writer = std::thread([this] { writer_loop(); });
    if (opts.sync == StorageSync::Periodic && opts.sync_interval_ms > 0) syncer = std::thread([this] { sync_loop(); });
}

void EventLog::Impl::stop_threads() {
    {
        std::lock_guard lock(queue_mu);
        stopping = true;
    }
    queue_cv.notify_all();
    if (writer.joinable()) writer.join();
    {
        std::lock_guard lock(sync_mu);
        sync_stop = true;
    }
    sync_cv.notify_all();
    if (syncer.joinable()) syncer.join();
}

void EventLog::Impl::writer_loop() {
    bool retention_on = opts.retention_max_age_ms > 0 || opts.retention_max_bytes > 0;
    bool more_retention = false;
    for (;;) {
        std::vector<WriteItem> group;
        std::vector<RetentionItem> asked;
        {
            std::unique_lock lock(queue_mu);
            auto ready = [&] { return !queue.empty() || stopping; };
            if (more_retention) {
                // Retention has a backlog: serve queued requests, but do not sleep.
            } else if (retention_on) {
                queue_cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(1, opts.retention_interval_ms)),
                                  ready);
            } else {
                queue_cv.wait(lock, ready);
            }
            if (stopping && queue.empty()) break;
            size_t bytes = 0;
            while (!queue.empty() && (group.empty() || bytes < opts.max_group_bytes)) {
                bytes += item_bytes(queue.front());
                if (auto* r = std::get_if<RetentionItem>(&queue.front()))
                    asked.push_back(std::move(*r));
                else
                    group.push_back(std::move(queue.front()));
                queue.pop_front();
            }
        }
        std::erase_if(group, [&](WriteItem& it) { return reject_invalid(*this, it); });
        if (!group.empty()) run_group(*this, group, 0, group.size());
        if (retention_on && (more_retention || now() >= retention_due)) {
            std::string err;
            if (retention_step(more_retention, err) != 0) spdlog::warn("storage: retention: {}", err);
            retention_due = now() + opts.retention_interval_ms;
        }
        for (auto& r : asked) {
            std::string err;
            bool more = true;
            int rc = 0;
            while (more && rc == 0) rc = retention_step(more, err);
            more_retention = false;
            r.done.set_value(rc ? Status::fail(err) : Status{});
        }
        maybe_grow_ahead();
    }
}

void EventLog::Impl::sync_loop() {
    for (;;) {
        {
            std::unique_lock lock(sync_mu);
            if (sync_cv.wait_for(lock, std::chrono::milliseconds(opts.sync_interval_ms), [&] { return sync_stop; }))
                return;
        }
        std::shared_lock lock(gate);
        if (int rc = mdb_env_sync(env.get(), 1)) spdlog::error("storage: periodic sync: {}", mdb::error_text(rc));
        if (now() >= next_reader_check) {
            next_reader_check = now() + 60'000;
            clear_stale_readers();
        }
    }
}

uint32_t EventLog::Impl::clear_stale_readers() {
    int dead = 0;
    mdb_reader_check(env.get(), &dead);
    if (dead <= 0) return 0;
    stale_readers += static_cast<uint32_t>(dead);
    spdlog::warn("storage: cleared {} stale reader slot(s) in {}", dead, opts.dir);
    return static_cast<uint32_t>(dead);
}

uint64_t EventLog::Impl::used_bytes() const {
    MDB_envinfo info{};
    MDB_stat st{};
    mdb_env_info(env.get(), &info);
    mdb_env_stat(env.get(), &st);
    return (static_cast<uint64_t>(info.me_last_pgno) + 1) * st.ms_psize;
}

int EventLog::Impl::grow_map(std::string& error, std::chrono::milliseconds wait) {
    uint64_t cur = map_size.load();
    if (opts.max_map_size && cur >= opts.max_map_size) {
        error = "the map is " + std::to_string(cur) + " bytes, the max_map_size limit";
        return MDB_MAP_FULL;
    }
    uint64_t next = cur < kGiB ? cur * 2 : cur + kGiB;
    if (opts.max_map_size) next = std::min(next, opts.max_map_size);
    // No transaction of this process may be active while the map is remapped.
    std::unique_lock lock(gate, std::defer_lock);
    resize_pending.store(true, std::memory_order_release);
    bool locked = lock.try_lock_for(wait);
    resize_pending.store(false, std::memory_order_release);
    if (!locked) {
        error = "could not grow the map: a reader kept its transaction open";
        return MDB_MAP_FULL;
    }
    if (int rc = mdb_env_set_mapsize(env.get(), next)) {
        error = "mdb_env_set_mapsize: " + mdb::error_text(rc);
        return rc;
    }
    map_size.store(next);
    map_grows.fetch_add(1);
    spdlog::info("storage: map grown from {} to {} bytes", cur, next);
    return 0;
}

int EventLog::Impl::adopt_map_size(std::string& error) {
    // Another process grew the map: take its size (legal only with no active txn).
    std::unique_lock lock(gate, std::defer_lock);
    resize_pending.store(true, std::memory_order_release);
    bool locked = lock.try_lock_for(std::chrono::seconds(10));
    resize_pending.store(false, std::memory_order_release);
    if (!locked) {
        error = "could not adopt the grown map: a reader kept its transaction open";
        return MDB_MAP_RESIZED;
    }
    if (int rc = mdb_env_set_mapsize(env.get(), 0)) {
        error = "mdb_env_set_mapsize: " + mdb::error_text(rc);
        return rc;
    }
    MDB_envinfo info{};
    mdb_env_info(env.get(), &info);
    map_size.store(info.me_mapsize);
    return 0;
}

void EventLog::Impl::maybe_grow_ahead() {
    uint64_t map = map_size.load();
    if (used_bytes() * 5 < map * 4 || (opts.max_map_size && map >= opts.max_map_size)) return;
    std::string why;
    if (grow_map(why, std::chrono::milliseconds(50)) != 0) spdlog::debug("storage: early map growth: {}", why);
}

}  // namespace vigil
