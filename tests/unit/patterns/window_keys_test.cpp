// KeyIndex: the open-addressing key map of the window runtime, checked against
// std::unordered_map under random inserts and erases (backward-shift deletion
// across wrap-around and growth).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <unordered_map>

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
