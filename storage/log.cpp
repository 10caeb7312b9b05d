// EventLog: opening the environment, the meta database and the public write API.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "rules/hash.h"
#include "storage/log_impl.h"

namespace vigil {
namespace {

constexpr uint32_t kMaxPartitions = 1024;
constexpr const char* kFormatVersion = "1";

std::string fail_text(const std::string& what, const std::string& dir, int rc) {
    return "storage: " + what + " in " + dir + ": " + mdb::error_text(rc);
}

// Reads the partition count from meta, or records `wanted` when the folder is new.
bool settle_partitions(EventLog::Impl& im, mdb::Txn& txn, std::string* error) {
    std::string_view v;
    int rc = txn.get(im.meta_dbi, "partitions", v);
    if (rc == MDB_NOTFOUND) {
        if (im.opts.read_only || im.opts.partitions == 0) {
            *error = "storage: " + im.opts.dir + " holds no event log yet (no partition count in meta)";
            return false;
        }
        im.partitions = im.opts.partitions;
        std::string n = std::to_string(im.partitions);
        if ((rc = txn.put(im.meta_dbi, "partitions", n)) || (rc = txn.put(im.meta_dbi, "format", kFormatVersion))) {
            *error = fail_text("cannot write meta", im.opts.dir, rc);
            return false;
        }
        return true;
    }
    if (rc) {
        *error = fail_text("cannot read meta", im.opts.dir, rc);
        return false;
    }
    uint32_t stored = static_cast<uint32_t>(std::strtoul(std::string(v).c_str(), nullptr, 10));
    if (im.opts.partitions != 0 && stored != im.opts.partitions) {
        *error = "storage: the log in " + im.opts.dir + " was created with " + std::to_string(stored) +
                 " partitions, but the config asks for " + std::to_string(im.opts.partitions) +
                 ". The partition count is fixed at creation: set `partitions: " + std::to_string(stored) +
                 "`, or use a new data_dir and backfill it with `vigil ingest`.";
        return false;
    }
    im.partitions = stored;
    return true;
}

int open_dbi(mdb::Txn& txn, const std::string& name, bool create, MDB_dbi& out) {
    return mdb_dbi_open(txn.get(), name.c_str(), create ? MDB_CREATE : 0, &out);
}

// Opens every named database once, in one transaction, and caches the handles.
bool open_databases(EventLog::Impl& im, std::string* error) {
    bool ro = im.opts.read_only;
    mdb::Txn txn;
    int rc = ro ? txn.begin_read(im.env.get()) : txn.begin_write(im.env.get());
    if (rc) return *error = fail_text("cannot begin the open transaction", im.opts.dir, rc), false;
    if ((rc = open_dbi(txn, "meta", !ro, im.meta_dbi))) {
        *error = rc == MDB_NOTFOUND ? "storage: " + im.opts.dir + " holds no event log yet"
                                    : fail_text("cannot open database meta", im.opts.dir, rc);
        return false;
    }
    if (!settle_partitions(im, txn, error)) return false;
    struct Named {
        const char* name;
        MDB_dbi* dbi;
    } fixed[] = {{"offsets", &im.offsets_dbi},
                 {"state", &im.state_dbi},
                 {"alerts", &im.alerts_dbi},
                 {"outbox", &im.outbox_dbi}};
    for (auto& n : fixed)
        if ((rc = open_dbi(txn, n.name, !ro, *n.dbi)))
            return *error = fail_text(std::string("cannot open database ") + n.name, im.opts.dir, rc), false;
    im.log_dbi.resize(im.partitions);
    im.time_dbi.resize(im.partitions);
    for (uint32_t p = 0; p < im.partitions; ++p) {
        std::string ln = "log/" + std::to_string(p), tn = "time/" + std::to_string(p);
        if ((rc = open_dbi(txn, ln, !ro, im.log_dbi[p])) || (rc = open_dbi(txn, tn, !ro, im.time_dbi[p])))
            return *error = fail_text("cannot open database " + ln, im.opts.dir, rc), false;
    }
    if ((rc = txn.commit())) return *error = fail_text("cannot commit the open transaction", im.opts.dir, rc), false;
    return true;
}

// Where each partition and the outbox continue.
bool load_positions(EventLog::Impl& im, std::string* error) {
    mdb::Txn txn;
    int rc = txn.begin_read(im.env.get());
    if (rc) return *error = fail_text("cannot begin a read transaction", im.opts.dir, rc), false;
    im.next_offset.assign(im.partitions, 1);
    im.last_offset = std::make_unique<std::atomic<uint64_t>[]>(im.partitions);
    std::string_view k, v;
    for (uint32_t p = 0; p < im.partitions; ++p) {
        uint64_t last = 0;
        mdb::Cursor c;
        c.open(txn, im.log_dbi[p]);
        if (c.get(k, v, MDB_LAST) == 0 && k.size() == 8) last = get_be64(k.data());
        // Retention may have emptied the partition: its end offset survives in meta.
        if (txn.get(im.meta_dbi, "last/" + std::to_string(p), v) == 0 && v.size() == 8)
            last = std::max(last, get_be64(v.data()));
        im.next_offset[p] = last + 1;
        im.last_offset[p].store(last);
    }
    mdb::Cursor o;
    o.open(txn, im.outbox_dbi);
    if (o.get(k, v, MDB_LAST) == 0 && k.size() == 8) im.next_outbox_seq = get_be64(k.data()) + 1;
    im.last_outbox_seq.store(im.next_outbox_seq - 1);
    return true;
}

bool open_env(EventLog::Impl& im, std::string* error) {
    const auto& o = im.opts;
    if (!o.read_only && ::mkdir(o.dir.c_str(), 0750) != 0 && errno != EEXIST)
        return *error = "storage: cannot create data folder " + o.dir + ": " + std::strerror(errno), false;
    int rc = im.env.create();
    if (!rc) rc = mdb_env_set_maxdbs(im.env.get(), 2 * (o.partitions ? o.partitions : kMaxPartitions) + 8);
    if (!rc) rc = mdb_env_set_mapsize(im.env.get(), o.map_size);
    if (!rc) rc = mdb_env_set_maxreaders(im.env.get(), 254);
    if (rc) return *error = fail_text("cannot create the environment", o.dir, rc), false;
    unsigned flags = MDB_NOTLS;
    if (o.read_only) flags |= MDB_RDONLY;
    if (o.sync == StorageSync::Periodic) flags |= MDB_NOSYNC;
    if ((rc = im.env.open(o.dir, flags))) {
        if (rc == ENOENT && o.read_only)
            return *error = "storage: " + o.dir + " holds no event log yet (no such folder or data.mdb)", false;
        return *error = fail_text("cannot open the environment", o.dir, rc), false;
    }
    im.clear_stale_readers();
    MDB_envinfo info{};
    mdb_env_info(im.env.get(), &info);
    im.map_size.store(info.me_mapsize);
    return true;
}

}  // namespace

int64_t EventLog::Impl::now() const {
    if (opts.now_ms) return opts.now_ms();
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::unique_ptr<EventLog> EventLog::open(const LogOptions& opts, std::string* error) {
    std::string scratch;
    if (!error) error = &scratch;
    if (opts.partitions > kMaxPartitions) {
        *error = "storage: partitions must be between 1 and " + std::to_string(kMaxPartitions) + ", got " +
                 std::to_string(opts.partitions);
        return nullptr;
    }
    auto im = std::make_unique<Impl>();
    im->opts = opts;
    if (im->opts.read_chunk == 0) im->opts.read_chunk = 4096;
    if (im->opts.retention_batch == 0) im->opts.retention_batch = 1000;
    if (!open_env(*im, error) || !open_databases(*im, error) || !load_positions(*im, error)) return nullptr;
    if (!im->opts.read_only) im->start_threads();
    return std::unique_ptr<EventLog>(new EventLog(std::move(im)));
}

EventLog::EventLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventLog::~EventLog() {
    impl_->stop_threads();
    if (!impl_->opts.read_only) mdb_env_sync(impl_->env.get(), 1);
}

uint32_t EventLog::partitions() const { return impl_->partitions; }
const std::string& EventLog::dir() const { return impl_->opts.dir; }

uint32_t EventLog::partition_for_key(std::string_view key) const {
    return static_cast<uint32_t>(stable_hash64(key) % impl_->partitions);
}

template <class Item, class Result>
static std::future<Result> submit(EventLog::Impl& im, Item item, const char* what) {
    auto fut = item.done.get_future();
    if (im.opts.read_only) {
        Result r{};
        r.ok = false;
        r.error = std::string("storage: ") + what + " on a log opened read-only";
        item.done.set_value(std::move(r));
        return fut;
    }
    im.enqueue(WriteItem(std::move(item)));
    return fut;
}

std::future<AppendResult> EventLog::append(AppendRequest req) {
    return submit<AppendItem, AppendResult>(*impl_, AppendItem{std::move(req), {}, {}}, "append");
}

std::future<BatchResult> EventLog::append_batch(std::vector<AppendRequest> reqs) {
    return submit<BatchItem, BatchResult>(*impl_, BatchItem{std::move(reqs), {}, {}}, "append");
}

std::future<CommitResult> EventLog::commit_batch(CommitBatch batch) {
    return submit<CommitItem, CommitResult>(*impl_, CommitItem{std::move(batch), {}, {}}, "commit");
}

std::future<Status> EventLog::outbox_delete(std::vector<uint64_t> seqs) {
    return submit<DeleteItem, Status>(*impl_, DeleteItem{std::move(seqs), {}}, "outbox delete");
}

std::future<Status> EventLog::run_retention() {
    return submit<RetentionItem, Status>(*impl_, RetentionItem{{}}, "retention");
}

uint32_t EventLog::clear_stale_readers() { return impl_->clear_stale_readers(); }

Status EventLog::sync() {
    std::shared_lock lock(impl_->gate);
    int rc = mdb_env_sync(impl_->env.get(), 1);
    return rc ? Status::fail("storage: sync: " + mdb::error_text(rc)) : Status{};
}

}  // namespace vigil
