#pragma once
// EventLog internals shared by log.cpp (open, meta), log_read.cpp (readers) and
// log_writer.cpp (writer thread, group commit, map growth, retention, sync).
//
// Locking: `gate` is held shared by every transaction user except the writer
// thread, and exclusively by the writer while it changes the map size, because
// mdb_env_set_mapsize() remaps the file and is only legal with no transaction
// active in the process.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <variant>
#include <vector>

#include "storage/log.h"
#include "storage/mdb.h"

namespace vigil {

struct AppendItem {
    AppendRequest req;
    std::promise<AppendResult> done;
    AppendResult result;
};
struct BatchItem {
    std::vector<AppendRequest> reqs;
    std::promise<BatchResult> done;
    BatchResult result;
};
struct CommitItem {
    CommitBatch batch;
    std::promise<CommitResult> done;
    CommitResult result;
};
struct DeleteItem {
    std::vector<uint64_t> seqs;
    std::promise<Status> done;
};
struct RetentionItem {
    std::promise<Status> done;
};
using WriteItem = std::variant<AppendItem, BatchItem, CommitItem, DeleteItem, RetentionItem>;

struct EventLog::Impl {
    LogOptions opts;
    uint32_t partitions = 0;
    mdb::Env env;
    std::vector<MDB_dbi> log_dbi, time_dbi;
    MDB_dbi offsets_dbi = 0, meta_dbi = 0, state_dbi = 0, alerts_dbi = 0, outbox_dbi = 0;
    mutable std::shared_timed_mutex gate;
    // Set while the writer waits for the gate: new readers hold back, so a stream
    // of overlapping readers cannot starve a map resize (glibc prefers readers).
    std::atomic<bool> resize_pending{false};

    // Published after each commit; read by anyone.
    std::unique_ptr<std::atomic<uint64_t>[]> last_offset;
    std::atomic<uint64_t> last_outbox_seq{0};
    mutable std::mutex data_mu;
    mutable std::condition_variable data_cv;
    mutable std::atomic<uint64_t> map_size{0};  // readers update it when adopting a grown map
    std::atomic<uint32_t> map_grows{0};
    std::atomic<uint64_t> commits{0};
    std::atomic<uint32_t> stale_readers{0};
    std::atomic<uint64_t> retention_deleted{0};
    std::atomic<uint64_t> retention_alerts_deleted{0};

    // Writer queue.
    std::mutex queue_mu;
    std::condition_variable queue_cv;
    std::deque<WriteItem> queue;
    bool stopping = false;
    std::thread writer;

    // Writer-thread state (committed values; a transaction works on copies).
    std::vector<uint64_t> next_offset;
    uint64_t next_outbox_seq = 1;
    int64_t retention_due = 0;

    // Periodic sync.
    std::mutex sync_mu;
    std::condition_variable sync_cv;
    bool sync_stop = false;
    std::thread syncer;
    int64_t next_reader_check = 0;

    int64_t now() const;
    void enqueue(WriteItem item);
    void start_threads();
    void stop_threads();
    void writer_loop();
    void sync_loop();
    void publish(const std::vector<uint64_t>& next, uint64_t outbox_next);
    // One retention transaction; sets `more` when it stopped at the batch bound.
    int retention_step(bool& more, std::string& error);
    int grow_map(std::string& error, std::chrono::milliseconds wait);
    int adopt_map_size(std::string& error);
    void maybe_grow_ahead();
    uint64_t used_bytes() const;
    uint32_t clear_stale_readers();
};

}  // namespace vigil
