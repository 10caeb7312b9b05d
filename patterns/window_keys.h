#pragma once
// The key -> state index of a window runtime: open addressing with linear probing
// over 16-byte slots (hash, owner pointer), so a lookup usually touches one slot
// line and the state itself; std::unordered_map's node chains cost several cache
// misses per event with 10k+ keys. Erase uses backward shifting (no tombstones).
// Guarantees: pointers to values stay valid until their key is erased.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/hash.h"
#include "rules/same_bytes.h"

namespace vigil {

// V must have a `std::string key` member naming it. An erased value is kept for the
// next key created (up to kSpare of them, the allocation saved), reset when erased:
// by its `void recycle()` when V has one (which may keep buffers), else to V().
template <class V>
class KeyIndex {
public:
    size_t size() const { return size_; }

    V* find(std::string_view key) const { return find(key, hash(key)); }
    // `h`: index_hash(key), when the caller has it.
    V* find(std::string_view key, uint64_t h) const {
        if (slots_.empty()) return nullptr;
        for (size_t i = h & mask(); slots_[i].value; i = (i + 1) & mask())
            if (slots_[i].hash == h && same_text(slots_[i].value->key, key)) return slots_[i].value.get();
        return nullptr;
    }

    // The value for `key`, created (with key set) when absent; `created` says which.
    V* find_or_create(std::string_view key, bool& created) { return find_or_create(key, hash(key), created); }
    V* find_or_create(std::string_view key, uint64_t h, bool& created) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        size_t i = h & mask();
        for (; slots_[i].value; i = (i + 1) & mask())
            if (slots_[i].hash == h && same_text(slots_[i].value->key, key)) {
                created = false;
                return slots_[i].value.get();
            }
        slots_[i].hash = h;
        if (spare_.empty()) {
            slots_[i].value = std::make_unique<V>();
        } else {
            slots_[i].value = std::move(spare_.back());
            spare_.pop_back();
        }
        slots_[i].value->key.assign(key);
        ++size_;
        created = true;
        return slots_[i].value.get();
    }

    void erase(std::string_view key) {
        if (slots_.empty()) return;
        const uint64_t h = hash(key);
        size_t i = h & mask();
        for (; slots_[i].value; i = (i + 1) & mask())
            if (slots_[i].hash == h && same_text(slots_[i].value->key, key)) break;
        if (!slots_[i].value) return;
        if (spare_.size() < kSpare) {
            V& v = *slots_[i].value;  // (`key` may view v.key: not read from here on)
            if constexpr (requires { v.recycle(); }) v.recycle();
            else v = V();
            spare_.push_back(std::move(slots_[i].value));
        }
        slots_[i].value.reset();
        --size_;
        // Backward shift: move later entries of the cluster into the hole when
        // their home slot is not between the hole and their position.
        for (size_t j = (i + 1) & mask(); slots_[j].value; j = (j + 1) & mask()) {
            size_t home = slots_[j].hash & mask();
            bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
            if (!movable) continue;
            slots_[i] = std::move(slots_[j]);
            i = j;
        }
    }

    template <class F>
    void for_each(F&& f) const {
        for (const auto& s : slots_)
            if (s.value) f(*s.value);
    }

private:
    struct Slot {
        uint64_t hash = 0;
        std::unique_ptr<V> value;
    };
    static uint64_t hash(std::string_view key) { return index_hash(key); }
    size_t mask() const { return slots_.size() - 1; }
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        slots_ = std::vector<Slot>(old.empty() ? 16 : old.size() * 2);
        for (auto& s : old) {
            if (!s.value) continue;
            size_t i = s.hash & mask();
            while (slots_[i].value) i = (i + 1) & mask();
            slots_[i] = std::move(s);
        }
    }

    static constexpr size_t kSpare = 1024;
    std::vector<Slot> slots_;  // power-of-two size, at most half full
    std::vector<std::unique_ptr<V>> spare_;  // erased values, for the next keys created
    size_t size_ = 0;
};

}  // namespace vigil
