// EventPool hands out only unreferenced events; StableHasher equals
// stable_hash64 over the concatenation; JSON numbers on the fast path parse to
// the same doubles as from_chars.
#include <doctest/doctest.h>

#include <charconv>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "rules/event_pool.h"
#include "rules/hash.h"
#include "rules/json.h"

TEST_CASE("event pool: an event still referenced elsewhere is never handed out again") {
    vigil::EventPool pool(4);
    std::vector<vigil::EventPtr> held;
    std::vector<const vigil::Event*> seen;
    for (int i = 0; i < 4; ++i) {
        auto ev = pool.acquire();
        ev->offset = static_cast<uint64_t>(i);
        seen.push_back(ev.get());
        if (i % 2 == 0) held.push_back(ev);  // kept, like a partial match would
    }
    // Second round: the ring is back at slot 0 (held), 1 (free), 2 (held), 3 (free).
    for (int i = 0; i < 4; ++i) {
        auto ev = pool.acquire();
        if (i % 2 == 0) {
            CHECK(ev.get() != seen[static_cast<size_t>(i)]);
        } else {
            CHECK(ev.get() == seen[static_cast<size_t>(i)]);  // recycled in place
        }
    }
    for (size_t i = 0; i < held.size(); ++i) CHECK(held[i]->offset == 2 * i);
}

TEST_CASE("stable hasher: pieces hash like the whole") {
    std::string whole;
    vigil::StableHasher h(5);
    for (int i = 0; i < 50; ++i) {
        std::string piece = "part";
        piece += std::to_string(i * 7919);
        whole += piece;
        whole += '\x1f';
        h.update(piece);
        h.update('\x1f');
    }
    CHECK(h.finish() == vigil::stable_hash64(whole, 5));
    CHECK(vigil::StableHasher().finish() == vigil::stable_hash64(""));
}

TEST_CASE("json numbers: the fast path gives from_chars' doubles") {
    std::mt19937_64 rng(3);
    std::vector<std::string> texts{"0", "-0", "71.25", "0.1", "0.3", "999999999999999", "1767225600000",
                                   "-40.5", "0.000000000000001", "1234567890123456", "1e3", "2.5E-3"};
    for (int i = 0; i < 20000; ++i) {
        std::string t = (rng() & 1) ? "-" : "";
        int digits = 1 + static_cast<int>(rng() % 16);
        for (int k = 0; k < digits; ++k) t += static_cast<char>('0' + rng() % 10);
        if (rng() & 1) {
            t += '.';
            int frac = 1 + static_cast<int>(rng() % 8);
            for (int k = 0; k < frac; ++k) t += static_cast<char>('0' + rng() % 10);
        }
        texts.push_back(t);
    }
    for (const auto& t : texts) {
        vigil::JsonDoc doc;
        REQUIRE(doc.parse("[" + t + "]"));
        double got = doc.root().at(0).as_number(), want = 0;
        std::from_chars(t.data(), t.data() + t.size(), want);
        CHECK_MESSAGE(std::memcmp(&got, &want, sizeof got) == 0, t);
    }
    vigil::JsonDoc bad;
    CHECK_FALSE(bad.parse("[-]"));
}
