// KeyIndex: the open-addressing key map of the window runtime, checked against
// std::unordered_map under random inserts and erases (backward-shift deletion
// across wrap-around and growth).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <iterator>
#include <unordered_map>
#include <vector>

#include "patterns/window_keys.h"

namespace {
struct Val {
    std::string key;
    int n = 0;
};
}  // namespace

TEST_CASE("key index: finds, creates and erases like a hash map") {
    vigil::KeyIndex<Val> idx;
    std::unordered_map<std::string, int> ref;
    uint32_t x = 7;
    for (int i = 0; i < 20000; ++i) {
        x = x * 1103515245u + 12345u;
        std::string k = "k" + std::to_string((x >> 8) % 300);
        if ((x >> 4) % 3 == 0) {
            idx.erase(k);
            ref.erase(k);
        } else {
            bool created = false;
            Val* v = idx.find_or_create(k, created);
            REQUIRE(v != nullptr);
            CHECK(created == !ref.count(k));
            CHECK(v->key == k);
            v->n = ++ref[k];
        }
        REQUIRE(idx.size() == ref.size());
    }
    for (int k = 0; k < 300; ++k) {
        std::string key = "k" + std::to_string(k);
        const Val* v = idx.find(key);
        auto it = ref.find(key);
        REQUIRE((v != nullptr) == (it != ref.end()));
        if (v) CHECK(v->n == it->second);
    }
    size_t seen = 0;
    idx.for_each([&](const Val&) { ++seen; });
    CHECK(seen == ref.size());
}

// KeyIds: the id table timers and the eviction queue name window keys by. An id of an
// erased key must find nothing, also once its slot holds another key.
#include "patterns/key_ids.h"

TEST_CASE("key ids: an erased key's id finds nothing, also after its slot is reused") {
    vigil::KeyIds<Val> ids;
    std::vector<Val> vals(400);
    std::unordered_map<uint64_t, Val*> live;
    std::vector<uint64_t> dead;
    uint32_t x = 11;
    for (int i = 0; i < 20000; ++i) {
        x = x * 1103515245u + 12345u;
        if ((x >> 4) % 3 == 0 && !live.empty()) {
            auto it = live.begin();
            std::advance(it, (x >> 8) % live.size());
            ids.erase(it->first);
            ids.erase(it->first);  // twice: no effect
            dead.push_back(it->first);
            live.erase(it);
        } else if (live.size() < vals.size()) {
            Val* v = &vals[(x >> 8) % vals.size()];
            const uint64_t id = ids.add(v);
            REQUIRE(id != 0);
            REQUIRE(live.count(id) == 0);
            live[id] = v;
        }
        REQUIRE(ids.size() == live.size());
    }
    for (const auto& [id, v] : live) CHECK(ids.find(id) == v);
    for (uint64_t id : dead) {
        CHECK(ids.find(id) == nullptr);
        CHECK_FALSE(ids.contains(id));
    }
    CHECK(ids.find(0) == nullptr);
    CHECK(ids.find(uint64_t{1} << 40 | 5) == nullptr);
    size_t seen = 0;
    ids.for_each([&](Val&) { ++seen; });
    CHECK(seen == live.size());
    ids.clear();
    CHECK(ids.size() == 0);
    for (const auto& [id, v] : live) CHECK(ids.find(id) == nullptr);
}
