// EventLog retention: deletes records from the head of partitions, by age (ingest
// time) and by size, at most retention_batch records per transaction so that a
// large backlog never holds the writer (and so ingest) for long. The alert store
// is trimmed the same way (oldest alert time first), except alerts whose outbox
// entry is still waiting to be published.
#include <spdlog/spdlog.h>

#include <optional>
#include <unordered_set>

#include "storage/log_impl.h"

namespace vigil {
namespace {

constexpr uint32_t kBytesChunk = 64;  // records deleted before re-measuring sizes

uint64_t dbi_bytes(const mdb::Txn& txn, MDB_dbi dbi) {
    MDB_stat st{};
    if (mdb_stat(txn.get(), dbi, &st)) return 0;
    return (static_cast<uint64_t>(st.ms_branch_pages) + st.ms_leaf_pages + st.ms_overflow_pages) * st.ms_psize;
}

struct Head {
    bool found = false;
    RecordView rec;
};

Head head_of(const EventLog::Impl& im, const mdb::Txn& txn, uint32_t p) {
    Head h;
    mdb::Cursor c;
    std::string_view k, v;
    if (c.open(txn, im.log_dbi[p]) || c.get(k, v, MDB_FIRST)) return h;
    h.found = decode_record(v, h.rec);
    if (h.found) h.rec.offset = get_be64(k.data());
    return h;
}

// Deletes up to `n` head records of partition p, those ingested before `cutoff`
// (INT64_MAX: regardless of age). Returns an LMDB code; counts into `deleted`.
int trim_head(EventLog::Impl& im, mdb::Txn& txn, uint32_t p, uint32_t n, int64_t cutoff, uint32_t& deleted) {
    for (uint32_t i = 0; i < n; ++i) {
        Head h = head_of(im, txn, p);
        if (!h.found || h.rec.ingest_time >= cutoff) return 0;
        char tk[16], k[8];
        encode_time_key(h.rec.event_time, h.rec.offset, tk);
        put_be64(k, h.rec.offset);
        int rc = txn.del(im.time_dbi[p], {tk, 16});
        if (rc && rc != MDB_NOTFOUND) return rc;
        if ((rc = txn.del(im.log_dbi[p], {k, 8}))) return rc;
        ++deleted;
    }
    return 0;
}

// The alert store's side of retention, within one write transaction. The alerts
// still in the outbox are read once, and only when some alert is due.
class AlertTrim {
public:
    AlertTrim(EventLog::Impl& im, mdb::Txn& txn) : im_(im), txn_(txn) {}

    // The time of the oldest alert retention may delete, if any.
    std::optional<int64_t> oldest() {
        std::optional<int64_t> out;
        walk(INT64_MAX, 1, [&](std::string_view, int64_t t) { out = t; });
        return out;
    }

    // Deletes up to n alerts with time < cutoff, oldest first; counts into `deleted`.
    int trim(uint32_t n, int64_t cutoff, uint32_t& deleted) {
        std::vector<std::string> keys;
        int rc = walk(cutoff, n, [&](std::string_view k, int64_t) { keys.emplace_back(k); });
        for (const auto& k : keys) {
            if (rc) break;
            if ((rc = txn_.del(im_.alerts_dbi, k)) == 0) ++deleted;
        }
        return rc;
    }

private:
    // Calls fn for up to n deletable alerts with time < cutoff, oldest first.
    template <typename Fn>
    int walk(int64_t cutoff, uint32_t n, Fn fn) {
        mdb::Cursor c;
        std::string_view k, v;
        int rc = c.open(txn_, im_.alerts_dbi);
        uint32_t found = 0;
        for (rc = rc ? rc : c.get(k, v, MDB_FIRST); rc == 0 && found < n; rc = c.get(k, v, MDB_NEXT)) {
            if (k.size() < 8) continue;
            int64_t t = time_from_bits(get_be64(k.data()));
            if (t >= cutoff) break;
            if (!loaded_ && (rc = load())) return rc;
            if (unknown_) break;
            if (keep_.count(std::string(k))) continue;
            fn(k, t);
            ++found;
        }
        return rc == MDB_NOTFOUND ? 0 : rc;
    }

    int load() {
        loaded_ = true;
        mdb::Cursor c;
        std::string_view k, v, topic, json, key;
        int qos = 0;
        int rc = c.open(txn_, im_.outbox_dbi);
        for (rc = rc ? rc : c.get(k, v, MDB_FIRST); rc == 0; rc = c.get(k, v, MDB_NEXT)) {
            if (!decode_outbox(v, topic, qos, json, &key) || key.empty()) {
                unknown_ = true;  // an entry from before keys: keep every alert until it is gone
                break;
            }
            keep_.emplace(key);
        }
        return rc == MDB_NOTFOUND ? 0 : rc;
    }

    EventLog::Impl& im_;
    mdb::Txn& txn_;
    bool loaded_ = false;
    bool unknown_ = false;
    std::unordered_set<std::string> keep_;
};

}  // namespace

int EventLog::Impl::retention_step(bool& more, std::string& error) {
    more = false;
    if (opts.retention_max_age_ms <= 0 && opts.retention_max_bytes == 0) return 0;
    mdb::Txn txn;
    int rc = txn.begin_write(env.get());
    uint32_t budget = opts.retention_batch, deleted = 0, alerts = 0;
    AlertTrim alert_trim(*this, txn);
    if (rc == 0 && opts.retention_max_age_ms > 0) {
        int64_t cutoff = now() - opts.retention_max_age_ms;
        for (uint32_t p = 0; p < partitions && rc == 0 && deleted < budget; ++p)
            rc = trim_head(*this, txn, p, budget - deleted, cutoff, deleted);
        if (rc == 0 && deleted < budget) rc = alert_trim.trim(budget - deleted, cutoff, alerts);
    }
    while (rc == 0 && opts.retention_max_bytes > 0 && deleted + alerts < budget) {
        uint64_t total = dbi_bytes(txn, alerts_dbi);
        for (uint32_t p = 0; p < partitions; ++p) total += dbi_bytes(txn, log_dbi[p]) + dbi_bytes(txn, time_dbi[p]);
        if (total <= opts.retention_max_bytes) break;
        // The partition whose head was ingested first holds the oldest data;
        // alerts older than that go first.
        int64_t oldest = INT64_MAX;
        uint32_t victim = partitions;
        for (uint32_t p = 0; p < partitions; ++p) {
            Head h = head_of(*this, txn, p);
            if (h.found && h.rec.ingest_time < oldest) oldest = h.rec.ingest_time, victim = p;
        }
        uint32_t chunk = std::min(kBytesChunk, budget - deleted - alerts);
        std::optional<int64_t> oldest_alert = alert_trim.oldest();
        if (oldest_alert && (victim == partitions || *oldest_alert < oldest)) {
            uint32_t before = alerts;
            rc = alert_trim.trim(chunk, INT64_MAX, alerts);
            if (rc == 0 && alerts == before) break;
            continue;
        }
        if (victim == partitions) break;
        rc = trim_head(*this, txn, victim, chunk, INT64_MAX, deleted);
    }
    // A partition emptied by retention keeps its end offset, so offsets are never reused.
    for (uint32_t p = 0; p < partitions && rc == 0 && deleted > 0; ++p) {
        if (head_of(*this, txn, p).found || next_offset[p] <= 1) continue;
        char v[8];
        put_be64(v, next_offset[p] - 1);
        rc = txn.put(meta_dbi, "last/" + std::to_string(p), {v, 8});
    }
    if (rc == 0 && deleted + alerts > 0) rc = txn.commit();
    txn.abort();
    if (rc == MDB_MAP_RESIZED) {
        std::string why;
        if (adopt_map_size(why) == 0) {
            more = true;
            return 0;
        }
    }
    if (rc == MDB_MAP_FULL) {
        std::string why;
        if (grow_map(why, std::chrono::seconds(10)) == 0) {
            more = true;  // deletes need fresh pages too (copy-on-write): retry next round
            return 0;
        }
    }
    if (rc) {
        error = mdb::error_text(rc);
        return rc;
    }
    retention_deleted.fetch_add(deleted);
    retention_alerts_deleted.fetch_add(alerts);
    more = deleted + alerts >= budget;
    if (deleted + alerts) spdlog::debug("storage: retention deleted {} record(s), {} alert(s)", deleted, alerts);
    return 0;
}

}  // namespace vigil
