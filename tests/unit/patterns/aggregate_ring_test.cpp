// The ring buffer under the sliding aggregates: FIFO order across wrap-around
// and growth, pops at both ends.
#include <doctest/doctest.h>

#include <cstdint>
#include <deque>

#include "patterns/aggregate_ring.h"

using vigil::Ring;

TEST_CASE("ring: behaves like a deque under mixed pushes and pops") {
    Ring<int> r;
    std::deque<int> d;
    CHECK(r.capacity() == 0);  // nothing allocated while empty
    uint32_t x = 12345;
    for (int i = 0; i < 5000; ++i) {
        x = x * 1103515245u + 12345u;
        int op = static_cast<int>((x >> 16) % 4);
        if (op <= 1 || d.empty()) {
            r.push_back(i);
            d.push_back(i);
        } else if (op == 2) {
            r.pop_front();
            d.pop_front();
        } else {
            r.pop_back();
            d.pop_back();
        }
        REQUIRE(r.size() == d.size());
        if (!d.empty()) {
            CHECK(r.front() == d.front());
            CHECK(r.back() == d.back());
            CHECK(r[d.size() / 2] == d[d.size() / 2]);
        }
    }
}
