#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "temp_dir.h"

using namespace vigil;
using test::event;
using test::small_log;
using test::TempDir;

namespace {

// The other process of the multi-process tests: this test binary executed again
// with VIGIL_TEST_CHILD=<role> and VIGIL_TEST_DIR=<data folder>; it plays the role
// before doctest starts and exits with 0 on success. (A bare fork() is not enough:
// the child of a process with threads may only call async-signal-safe functions,
// and allocating there deadlocks under ASan when a parent thread held its lock.)
int child_role(const std::string& role, const std::string& dir) {
    if (role == "die-in-read") {  // dies inside a read transaction, as a crashed `vigil replay` would
        LogOptions ro = small_log(dir, 1);
        ro.read_only = true;
        auto mine = EventLog::open(ro, nullptr);
        if (mine) mine->scan(0, 1, 0, [](const RecordView&) { _exit(0); return true; });
        return 3;
    }
    if (role == "append-100") {
        auto other = EventLog::open(small_log(dir, 2), nullptr);
        std::vector<AppendRequest> batch;
        for (int i = 0; i < 100; ++i) batch.push_back(event(0, i, "child"));
        return other && other->append_batch(std::move(batch)).get().ok ? 0 : 3;
    }
    if (role == "grow-map") {
        LogOptions o = small_log(dir, 1);
        o.map_size = 64 << 10;
        auto other = EventLog::open(o, nullptr);
        std::vector<AppendRequest> batch;
        for (int i = 0; i < 2000; ++i) batch.push_back(event(0, i, std::string(500, 'c')));
        return other && other->append_batch(std::move(batch)).get().ok && other->map_info().map_grows > 0 ? 0 : 3;
    }
    return 2;
}

[[maybe_unused]] const int kChild = [] {
    const char* role = std::getenv("VIGIL_TEST_CHILD");
    const char* dir = std::getenv("VIGIL_TEST_DIR");
    if (role && dir) _exit(child_role(role, dir));
    return 0;
}();

// Runs `role` in a child process on `dir`; its exit status (-1: it did not exit).
int run_child(const std::string& role, const std::string& dir) {
    std::string r = "VIGIL_TEST_CHILD=" + role, d = "VIGIL_TEST_DIR=" + dir;
    char* envp[] = {r.data(), d.data(), nullptr};  // built before fork: the child only execs
    pid_t child = fork();
    if (child < 0) return -1;
    if (child == 0) {
        execle("/proc/self/exe", "unit_storage", static_cast<char*>(nullptr), envp);
        _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("concurrency: readers keep scanning while the writer grows the map under them") {
    TempDir tmp;
    LogOptions o = small_log(tmp.sub("data"), 1);
    o.map_size = 64 << 10;
    o.read_chunk = 50;
    auto log = EventLog::open(o, nullptr);
    REQUIRE(log);
    std::atomic<bool> done{false};
    std::atomic<uint64_t> scans{0};
    std::atomic<bool> consistent{true};
    std::thread reader([&] {
        while (!done.load()) {
            uint64_t expect = 1;
            auto st = log->scan(0, 1, 0, [&](const RecordView& r) {
                if (r.offset != expect++ || r.payload.size() != 300) consistent = false;
                return true;
            });
            if (!st.ok) consistent = false;
            scans.fetch_add(1);
        }
    });
    for (int b = 0; b < 30; ++b) {
        std::vector<AppendRequest> batch;
        for (int i = 0; i < 200; ++i) batch.push_back(event(0, i, std::string(300, 'r')));
        REQUIRE(log->append_batch(std::move(batch)).get().ok);
    }
    done = true;
    reader.join();
    CHECK(consistent.load());
    CHECK(scans.load() > 0);
    CHECK(log->map_info().map_grows > 0);
    CHECK(log->last_offset(0) == 6000);
}

TEST_CASE("concurrency: sync always commits and reads back") {
    TempDir tmp;
    LogOptions o = small_log(tmp.sub("data"), 2);
    o.sync = StorageSync::Always;
    auto log = EventLog::open(o, nullptr);
    REQUIRE(log);
    for (int i = 0; i < 20; ++i) REQUIRE(log->append(event(1, i, "a")).get().ok);
    CHECK(log->last_offset(1) == 20);
    CHECK(log->sync().ok);
}

TEST_CASE("concurrency: a reader slot left by a killed process is cleared") {
    TempDir tmp;
    std::string dir = tmp.sub("data");
    auto log = EventLog::open(small_log(dir, 1), nullptr);
    REQUIRE(log);
    REQUIRE(log->append(event(0, 1, "x")).get().ok);
    CHECK(log->clear_stale_readers() == 0);
    REQUIRE(run_child("die-in-read", dir) == 0);
    CHECK(log->clear_stale_readers() == 1);
    CHECK(log->map_info().stale_readers_cleared == 1);
}

TEST_CASE("concurrency: another process appending (vigil ingest next to the daemon) never collides") {
    TempDir tmp;
    std::string dir = tmp.sub("data");
    auto log = EventLog::open(small_log(dir, 2), nullptr);
    REQUIRE(log);
    REQUIRE(log->append(event(0, 1, "parent-1")).get().ok);
    REQUIRE(run_child("append-100", dir) == 0);
    auto r = log->append(event(0, 2, "parent-2")).get();
    REQUIRE(r.ok);
    CHECK(r.offset == 102);
    CHECK(log->last_offset(0) == 102);
    std::vector<Record> recs;
    REQUIRE(log->read(0, 1, 0, recs).ok);
    REQUIRE(recs.size() == 102);
    CHECK(recs[1].payload == "child");
    CHECK(recs[101].payload == "parent-2");
}

TEST_CASE("concurrency: a map grown by another process is adopted by readers and the writer") {
    TempDir tmp;
    std::string dir = tmp.sub("data");
    LogOptions o = small_log(dir, 1);
    o.map_size = 64 << 10;
    auto log = EventLog::open(o, nullptr);
    REQUIRE(log);
    REQUIRE(log->append(event(0, 1, "first")).get().ok);
    REQUIRE(run_child("grow-map", dir) == 0);
    auto r = log->append(event(0, 2, "after")).get();  // the writer meets the bigger map first
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(r.offset == 2002);
    uint64_t n = 0;
    REQUIRE(log->scan(0, 1, 0, [&](const RecordView&) { return ++n, true; }).ok);
    CHECK(n == 2002);
}

TEST_CASE("concurrency: partition assignment is pinned (stable_hash64 must never change)") {
    TempDir tmp;
    auto log = EventLog::open(small_log(tmp.sub("data"), 8), nullptr);
    REQUIRE(log);
    std::vector<uint32_t> got;
    for (const char* k : {"", "dev-1", "card-42", "c1", "factory/a"}) got.push_back(log->partition_for_key(k));
    CHECK(got == std::vector<uint32_t>{3, 0, 1, 7, 1});
}
