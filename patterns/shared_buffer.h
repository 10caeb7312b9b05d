#pragma once
// The shared buffer of the pattern runtime (after Flink CEP's SharedBuffer).
//
// Partial matches do not copy events. Each event a rule's partial matches take is
// stored once, in a reference-counted slot, and each partial match is a pointer to
// the last node of a path of (stage, event) nodes; a node points to its
// predecessor. Branches created by `any` contiguity, optional stages and looping
// stages share their common prefix, so the structure is a forest (a DAG whose
// paths are the partial matches). A node stays alive while a partial match or a
// later node refers to it; an event slot while a node refers to it.
//
// Guarantees: ids stay valid until released; release() of the last reference
// frees the node, its now unreferenced predecessors and their event slots, so
// memory is bounded by the live partial matches. No exceptions; the only
// allocation is vector growth of the pools (amortized, reused after frees).
// Thread rules: one buffer belongs to one runtime, used by one thread at a time.
#include <cstdint>
#include <vector>

#include "rules/event.h"

namespace vigil {

class SharedBuffer {
public:
    using NodeId = uint32_t;
    static constexpr NodeId kNone = UINT32_MAX;

    // A new node (stage, ev) after `pred` (kNone for the first event of a match),
    // holding one reference for the caller. An event passed several times in a row
    // (one event taken by several partial matches) is stored once.
    // `seq` is the event's per-key sequence number (for skip strategies).
    NodeId add(NodeId pred, uint16_t stage, const EventPtr& ev, uint32_t seq);
    void retain(NodeId n) { nodes_[n].refs++; }
    void release(NodeId n);

    uint16_t stage(NodeId n) const { return nodes_[n].stage; }
    NodeId pred(NodeId n) const { return nodes_[n].pred; }
    const Event* event(NodeId n) const { return slots_[nodes_[n].slot].ev.get(); }
    const EventPtr& event_ptr(NodeId n) const { return slots_[nodes_[n].slot].ev; }
    uint32_t seq(NodeId n) const { return slots_[nodes_[n].slot].seq; }

    size_t live_nodes() const { return nodes_.size() - free_nodes_.size(); }
    size_t live_events() const { return slots_.size() - free_slots_.size(); }
    // Bytes held by the pools, plus the events they keep alive when `with_events`.
    size_t bytes(bool with_events) const;

private:
    struct Node {
        uint32_t pred;
        uint32_t slot;
        uint32_t refs;
        uint16_t stage;
    };
    struct Slot {
        EventPtr ev;
        uint32_t refs = 0;
        uint32_t seq = 0;
    };
    uint32_t slot_for(const EventPtr& ev, uint32_t seq);

    std::vector<Node> nodes_;
    std::vector<NodeId> free_nodes_;
    std::vector<Slot> slots_;
    std::vector<uint32_t> free_slots_;
    const Event* last_event_ = nullptr;  // the event of slot last_slot_, to store it once
    uint32_t last_slot_ = 0;
};

// Rough bytes an event occupies (struct, payload, parsed document).
size_t event_bytes(const Event& ev);

}  // namespace vigil
