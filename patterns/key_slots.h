#pragma once
// Key name -> slot index of the pattern runtime: open addressing with linear
// probing over 8-byte entries (32-bit hash, slot; at most 4/5 full, so 10 to 20
// bytes per key), names kept once per slot in a
// deque (stable addresses). std::unordered_map costs a node allocation per key and
// a chain walk of cache misses per lookup; with 10k+ keys that dominated the
// per-event cost. Erase shifts later entries back (no tombstones).
// Guarantees: the pointer insert() returns stays valid until that slot is
// re-inserted under another name; lookups never allocate. No exceptions besides
// std::bad_alloc from growth.
// Thread rules: one thread at a time.
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/hash.h"
#include "rules/same_bytes.h"

namespace vigil {

class KeySlots {
public:
    static constexpr uint32_t kNone = UINT32_MAX;

    size_t size() const { return size_; }
    // The name last inserted for `slot`.
    const std::string& name(uint32_t slot) const { return names_[slot]; }

    uint32_t find(std::string_view key) const {
        uint32_t h;
        return find(key, h);
    }
    // The same, also giving the key's hash for insert() when it is absent.
    uint32_t find(std::string_view key, uint32_t& h) const { return find_hashed(key, h = hash(key)); }
    // `h`: the low 32 bits of index_hash(key), when the caller has it.
    uint32_t find_hashed(std::string_view key, uint32_t h) const {
        if (table_.empty()) return kNone;
        for (size_t i = h & mask();; i = (i + 1) & mask()) {
            const Entry& e = table_[i];
            if (e.slot == kNone) return kNone;
            if (e.hash == h && same_text(names_[e.slot], key)) return e.slot;
        }
    }

    // `key` must be absent. `slot` is at most one past the highest slot used so far.
    const std::string* insert(std::string_view key, uint32_t slot) { return insert(key, slot, hash(key)); }
    // `h` from find(key, h).
    const std::string* insert(std::string_view key, uint32_t slot, uint32_t h) {
        if ((size_ + 1) * 5 > table_.size() * 4) grow();
        if (slot == names_.size()) names_.emplace_back();
        names_[slot].assign(key);
        place(Entry{h, slot});
        ++size_;
        return &names_[slot];
    }

    void erase(std::string_view key) {
        const uint32_t slot = find(key);
        if (slot != kNone) erase_slot(slot);
    }
    // Erases the key held by `slot`: found by slot number, without comparing names.
    void erase_slot(uint32_t slot) {
        if (table_.empty() || slot >= names_.size()) return;
        size_t i = hash(names_[slot]) & mask();
        for (; table_[i].slot != slot; i = (i + 1) & mask())
            if (table_[i].slot == kNone) return;
        table_[i].slot = kNone;
        --size_;
        for (size_t j = (i + 1) & mask(); table_[j].slot != kNone; j = (j + 1) & mask()) {
            size_t home = table_[j].hash & mask();
            bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
            if (!movable) continue;
            table_[i] = table_[j];
            table_[j].slot = kNone;
            i = j;
        }
    }

    // f(name, slot) for every key.
    template <class F>
    void for_each(F&& f) const {
        for (const Entry& e : table_)
            if (e.slot != kNone) f(names_[e.slot], e.slot);
    }

    // Bytes of the table and the names (heap parts of long names included).
    size_t bytes() const {
        size_t b = table_.capacity() * sizeof(Entry) + names_.size() * sizeof(std::string);
        for (const auto& n : names_)
            if (n.capacity() > 15) b += n.capacity() + 1;
        return b;
    }

private:
    struct Entry {
        uint32_t hash = 0;
        uint32_t slot = kNone;
    };
    static uint32_t hash(std::string_view key) {
        return static_cast<uint32_t>(index_hash(key));
    }
    size_t mask() const { return table_.size() - 1; }
    void place(Entry e) {
        size_t i = e.hash & mask();
        while (table_[i].slot != kNone) i = (i + 1) & mask();
        table_[i] = e;
    }
    void grow() {
        std::vector<Entry> old = std::move(table_);
        table_.assign(old.empty() ? 16 : old.size() * 2, Entry{});
        for (const Entry& e : old)
            if (e.slot != kNone) place(e);
    }

    std::vector<Entry> table_;  // power-of-two size, at most 4/5 full
    std::deque<std::string> names_;
    size_t size_ = 0;
};

}  // namespace vigil
