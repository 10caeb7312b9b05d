// EventPool hands out only unreferenced events and recycles released ones, also
// after a long hold; StableHasher equals
// stable_hash64 over the concatenation; JSON numbers on the fast path parse to
// the same doubles as from_chars.
#include <doctest/doctest.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "rules/event_pool.h"
#include "rules/hash.h"
#include "rules/json.h"

TEST_CASE("event pool: an event still referenced elsewhere is never handed out again") {
    vigil::EventPool pool(4, 8);
    std::vector<std::pair<vigil::EventPtr, uint64_t>> held;  // event, offset it was given
    std::vector<const vigil::Event*> seen;
    std::mt19937 rng(7);
    size_t reused = 0;
    for (int i = 0; i < 2000; ++i) {
        auto ev = pool.acquire();
        for (const auto& h : held) REQUIRE(ev.get() != h.first.get());
        if (std::find(seen.begin(), seen.end(), ev.get()) != seen.end()) ++reused;
        seen.push_back(ev.get());
        ev->offset = static_cast<uint64_t>(i);
        if (rng() % 3 == 0) held.emplace_back(ev, ev->offset);  // kept, like a partial match would
        if (held.size() > 6) held.erase(held.begin() + static_cast<std::ptrdiff_t>(rng() % held.size()));
    }
    CHECK(reused > 1000);  // released events do come back
    CHECK(pool.size() <= 12);
    for (const auto& h : held) CHECK(h.first->offset == h.second);
}

TEST_CASE("event pool: events held for longer than a turn are recycled once released") {
    // Each event is held for 300 acquires (a pattern holding one event per key over
    // 300 keys): the ring grows past that, not much further, and then hands back
    // released events only.
    vigil::EventPool pool(16, 16384);
    std::vector<std::shared_ptr<vigil::Event>> window;
    size_t fresh_late = 0;
    std::vector<const vigil::Event*> seen;
    for (int i = 0; i < 5000; ++i) {
        auto ev = pool.acquire();
        for (const auto& h : window) REQUIRE(ev.get() != h.get());
        bool is_new = std::find(seen.begin(), seen.end(), ev.get()) == seen.end();
        if (is_new) seen.push_back(ev.get());
        if (is_new && i >= 2500) ++fresh_late;
        ev->offset = static_cast<uint64_t>(i);
        window.push_back(ev);
        if (window.size() > 300) window.erase(window.begin());
        const auto first = static_cast<uint64_t>(i + 1) - window.size();  // the oldest held event's offset
        for (size_t k = 0; k < window.size(); k += 97) CHECK(window[k]->offset == first + k);  // held: untouched
    }
    CHECK(fresh_late == 0);
    CHECK(pool.size() > 300);
    CHECK(pool.size() < 1000);

    // A pool too small for the holding time still never hands out a held event.
    vigil::EventPool small(4, 12);
    window.clear();
    for (int i = 0; i < 2000; ++i) {
        auto ev = small.acquire();
        for (const auto& h : window) REQUIRE(ev.get() != h.get());
        window.push_back(ev);
        if (window.size() > 300) window.erase(window.begin());
    }
    CHECK(small.size() <= 16);
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
