#pragma once
// Ids for a runtime's key states, for what names a key without holding it (timers,
// the eviction queue, the checkpoint's dirty list): an id outlives its key, and
// looking up an erased key's id finds nothing. An id is a slot (low 32 bits) and the
// slot's generation (high 32 bits, bumped when the slot is reused), so a lookup is
// an index and a compare, and adding or erasing allocates nothing once the table
// has grown (std::unordered_map allocated a node per key created).
#include <cstdint>
#include <vector>

namespace vigil {

template <class V>
class KeyIds {
public:
    // A new id naming `v` (never 0).
    uint64_t add(V* v) {
        uint32_t slot;
        if (free_.empty()) {
            slot = static_cast<uint32_t>(slots_.size());
            slots_.push_back(Slot{uint64_t{1} << 32 | slot, nullptr});
        } else {
            slot = free_.back();
            free_.pop_back();
            slots_[slot].id += uint64_t{1} << 32;  // a new generation: the old id finds nothing
        }
        slots_[slot].value = v;
        ++size_;
        return slots_[slot].id;
    }
    V* find(uint64_t id) const {
        const uint64_t slot = id & 0xffffffffu;
        if (slot >= slots_.size() || slots_[slot].id != id) return nullptr;
        return slots_[slot].value;  // null once erased
    }
    bool contains(uint64_t id) const { return find(id) != nullptr; }
    void erase(uint64_t id) {
        const uint64_t slot = id & 0xffffffffu;
        if (slot >= slots_.size() || slots_[slot].id != id || !slots_[slot].value) return;
        slots_[slot].value = nullptr;
        free_.push_back(static_cast<uint32_t>(slot));
        --size_;
    }
    size_t size() const { return size_; }
    void clear() {
        slots_.clear();
        free_.clear();
        size_ = 0;
    }
    template <class F>
    void for_each(F&& f) const {
        for (const Slot& s : slots_)
            if (s.value) f(*s.value);
    }

private:
    struct Slot {
        uint64_t id;
        V* value;
    };
    std::vector<Slot> slots_;
    std::vector<uint32_t> free_;  // slots of erased ids
    size_t size_ = 0;
};

}  // namespace vigil
