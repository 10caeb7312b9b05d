// EventLog retention: deletes records from the head of partitions, by age (ingest
// time) and by size, at most retention_batch records per transaction so that a
// large backlog never holds the writer (and so ingest) for long.
#include <spdlog/spdlog.h>

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

}  // namespace

int EventLog::Impl::retention_step(bool& more, std::string& error) {
    more = false;
    if (opts.retention_max_age_ms <= 0 && opts.retention_max_bytes == 0) return 0;
    mdb::Txn txn;
    int rc = txn.begin_write(env.get());
    uint32_t budget = opts.retention_batch, deleted = 0;
    if (rc == 0 && opts.retention_max_age_ms > 0) {
        int64_t cutoff = now() - opts.retention_max_age_ms;
        for (uint32_t p = 0; p < partitions && rc == 0 && deleted < budget; ++p)
            rc = trim_head(*this, txn, p, budget - deleted, cutoff, deleted);
    }
    while (rc == 0 && opts.retention_max_bytes > 0 && deleted < budget) {
        uint64_t total = 0;
        for (uint32_t p = 0; p < partitions; ++p) total += dbi_bytes(txn, log_dbi[p]) + dbi_bytes(txn, time_dbi[p]);
        if (total <= opts.retention_max_bytes) break;
        // The partition whose head was ingested first holds the oldest data.
        int64_t oldest = INT64_MAX;
        uint32_t victim = partitions;
        for (uint32_t p = 0; p < partitions; ++p) {
            Head h = head_of(*this, txn, p);
            if (h.found && h.rec.ingest_time < oldest) oldest = h.rec.ingest_time, victim = p;
        }
        if (victim == partitions) break;
        rc = trim_head(*this, txn, victim, std::min(kBytesChunk, budget - deleted), INT64_MAX, deleted);
    }
    // A partition emptied by retention keeps its end offset, so offsets are never reused.
    for (uint32_t p = 0; p < partitions && rc == 0 && deleted > 0; ++p) {
        if (head_of(*this, txn, p).found || next_offset[p] <= 1) continue;
        char v[8];
        put_be64(v, next_offset[p] - 1);
        rc = txn.put(meta_dbi, "last/" + std::to_string(p), {v, 8});
    }
    if (rc == 0 && deleted > 0) rc = txn.commit();
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
    more = deleted >= budget;
    if (deleted) spdlog::debug("storage: retention deleted {} record(s)", deleted);
    return 0;
}

}  // namespace vigil
