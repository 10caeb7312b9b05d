#include <doctest/doctest.h>

#include <thread>

#include "temp_dir.h"

using namespace vigil;
using test::event;
using test::small_log;
using test::TempDir;

TEST_CASE("log: wait_for_any wakes on a record in any of the partitions it watches") {
    TempDir tmp;
    auto log = EventLog::open(small_log(tmp.sub("data")), nullptr);
    REQUIRE(log);
    const std::vector<std::pair<uint32_t, uint64_t>> watched{{0, 0}, {2, 0}};
    CHECK_FALSE(log->wait_for_any(watched, std::chrono::milliseconds(10)));
    REQUIRE(log->append(event(1, 1, "{}")).get().ok);  // not watched
    CHECK_FALSE(log->wait_for_any(watched, std::chrono::milliseconds(5)));

    // A record in the second watched partition wakes a waiter long before its timeout.
    bool woke = false;
    auto t0 = std::chrono::steady_clock::now();
    std::thread worker([&] { woke = log->wait_for_any(watched, std::chrono::seconds(10)); });
    REQUIRE(log->append(event(2, 1, "{}")).get().ok);
    worker.join();
    CHECK(woke);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    CHECK_FALSE(log->wait_for_any({{0, 0}, {2, 1}}, std::chrono::milliseconds(0)));
}
