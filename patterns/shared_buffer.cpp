#include "patterns/shared_buffer.h"

namespace vigil {

uint32_t SharedBuffer::slot_for(const EventPtr& ev, uint32_t seq) {
    if (last_event_ == ev.get() && slots_[last_slot_].ev.get() == ev.get()) return last_slot_;
    uint32_t s;
    if (!free_slots_.empty()) {
        s = free_slots_.back();
        free_slots_.pop_back();
        slots_[s].ev = ev;
    } else {
        s = static_cast<uint32_t>(slots_.size());
        slots_.push_back(Slot{ev, 0, seq});
    }
    slots_[s].refs = 0;
    slots_[s].seq = seq;
    last_event_ = ev.get();
    last_slot_ = s;
    return s;
}

SharedBuffer::NodeId SharedBuffer::add(NodeId pred, uint16_t stage, const EventPtr& ev, uint32_t seq) {
    uint32_t slot = slot_for(ev, seq);
    slots_[slot].refs++;
    if (pred != kNone) nodes_[pred].refs++;
    Node node{pred, slot, 1, stage};
    if (!free_nodes_.empty()) {
        NodeId n = free_nodes_.back();
        free_nodes_.pop_back();
        nodes_[n] = node;
        return n;
    }
    nodes_.push_back(node);
    return static_cast<NodeId>(nodes_.size() - 1);
}

void SharedBuffer::release(NodeId n) {
    // Iterative: a long looping stage makes a long chain.
    while (n != kNone) {
        Node& node = nodes_[n];
        if (--node.refs > 0) return;
        NodeId pred = node.pred;
        Slot& slot = slots_[node.slot];
        if (--slot.refs == 0) {
            if (last_event_ == slot.ev.get()) last_event_ = nullptr;
            slot.ev.reset();
            free_slots_.push_back(node.slot);
        }
        free_nodes_.push_back(n);
        n = pred;
    }
}

size_t SharedBuffer::bytes(bool with_events) const {
    size_t b = nodes_.capacity() * sizeof(Node) + free_nodes_.capacity() * sizeof(NodeId) +
               slots_.capacity() * sizeof(Slot) + free_slots_.capacity() * sizeof(uint32_t);
    if (with_events) {
        for (const auto& s : slots_)
            if (s.ev) b += event_bytes(*s.ev);
    }
    return b;
}

size_t event_bytes(const Event& ev) {
    auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() : 0; };
    return sizeof(Event) + 16 /* control block */ + heap(ev.key) + heap(ev.stream) +
           heap(ev.topic) + ev.doc.memory_bytes();
}

}  // namespace vigil
