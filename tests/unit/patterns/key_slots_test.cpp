// KeySlots (the pattern runtime's key index) against std::unordered_map under
// random inserts and erases with slot reuse, and PodList's vector behaviour.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "patterns/key_slots.h"
#include "patterns/pod_list.h"

TEST_CASE("key slots: finds, inserts and erases like a hash map, names stay put") {
    vigil::KeySlots idx;
    std::unordered_map<std::string, uint32_t> ref;
    std::vector<uint32_t> free_slots;
    uint32_t next_slot = 0;
    std::mt19937_64 rng(11);
    for (int i = 0; i < 200000; ++i) {
        std::string k = "k";
        k += std::to_string(rng() % 3000);
        auto it = ref.find(k);
        CHECK(idx.find(k) == (it == ref.end() ? vigil::KeySlots::kNone : it->second));
        if (it == ref.end()) {
            uint32_t slot = next_slot;
            if (!free_slots.empty()) {
                slot = free_slots.back();
                free_slots.pop_back();
            } else {
                ++next_slot;
            }
            const std::string* name = idx.insert(k, slot);
            REQUIRE(*name == k);
            REQUIRE(&idx.name(slot) == name);
            ref.emplace(k, slot);
        } else if (rng() % 2) {
            idx.erase(idx.name(it->second));
            free_slots.push_back(it->second);
            ref.erase(it);
        }
        REQUIRE(idx.size() == ref.size());
    }
    size_t seen = 0;
    idx.for_each([&](const std::string& name, uint32_t slot) {
        ++seen;
        CHECK(ref.at(name) == slot);
    });
    CHECK(seen == ref.size());
    CHECK(idx.bytes() > 0);
}

TEST_CASE("pod list: push, assign, clear and shrink keep the values") {
    vigil::PodList<uint64_t> v;
    CHECK(v.empty());
    for (uint64_t i = 0; i < 100; ++i) v.push_back(i * 3);
    CHECK(v.size() == 100);
    CHECK(v.capacity() >= 100);
    uint64_t sum = 0;
    for (uint64_t x : v) sum += x;
    CHECK(sum == 3 * 99 * 100 / 2);
    std::vector<uint64_t> src{7, 8, 9};
    v.assign(src.data(), src.data() + src.size());
    CHECK(v.size() == 3);
    CHECK(v[2] == 9);
    vigil::PodList<uint64_t> moved(std::move(v));
    CHECK(moved.size() == 3);
    CHECK(v.size() == 0);
    vigil::PodList<uint64_t> copy = moved;
    copy.push_back(10);
    CHECK(moved.size() == 3);
    CHECK(copy[3] == 10);
    copy.clear();
    copy.shrink_to_fit();
    CHECK(copy.capacity() == 0);
    moved.shrink_to_fit();
    CHECK(moved.capacity() == 3);
    CHECK(moved[0] == 7);
}
