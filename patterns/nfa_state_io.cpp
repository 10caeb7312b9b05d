// The pattern runtime's checkpoints (docs/state.md "Pattern keys"): one record per
// key holding its partial matches, the shared-buffer nodes they reach (each once,
// predecessors first, so shared prefixes stay shared) and the events of those
// nodes (each once per key).
#include <unordered_map>

#include "patterns/nfa.h"
#include "patterns/state_codec.h"

namespace vigil {

void PatternRuntime::save_key(const KeyState& ks, std::string& out) const {
    out.push_back(static_cast<char>(kPatternStateFormat));
    put_varint(out, ks.next_seq);
    int64_t throttled = 0;
    bool has_throttle = throttle_.last(key_name(ks), throttled);
    put_varint(out, has_throttle ? 1 : 0);
    if (has_throttle) put_zigzag(out, throttled);

    // Nodes reachable from the partial matches, each before its successors.
    std::unordered_map<SharedBuffer::NodeId, uint32_t> index;
    std::vector<SharedBuffer::NodeId> order, chain;
    for (const auto& pm : ks.pms) {
        chain.clear();
        for (auto n = pm.node; n != SharedBuffer::kNone && !index.count(n); n = buffer_.pred(n)) chain.push_back(n);
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
            index.emplace(*it, static_cast<uint32_t>(order.size()));
            order.push_back(*it);
        }
    }
    // Their events, each once.
    std::unordered_map<const Event*, uint32_t> ev_index;
    std::vector<SharedBuffer::NodeId> ev_nodes;
    for (auto n : order)
        if (ev_index.emplace(buffer_.event(n), static_cast<uint32_t>(ev_nodes.size())).second) ev_nodes.push_back(n);

    put_varint(out, ev_nodes.size());
    for (auto n : ev_nodes) {
        put_event(out, *buffer_.event(n));
        put_varint(out, buffer_.seq(n));
    }
    put_varint(out, order.size());
    for (auto n : order) {
        auto pred = buffer_.pred(n);
        put_varint(out, pred == SharedBuffer::kNone ? 0 : index.at(pred) + 1);
        put_varint(out, ev_index.at(buffer_.event(n)));
        put_varint(out, buffer_.stage(n));
    }
    put_varint(out, ks.pms.size());
    for (const auto& pm : ks.pms) {
        put_varint(out, pm.node == SharedBuffer::kNone ? 0 : index.at(pm.node) + 1);
        put_varint(out, pm.stage);
        put_varint(out, pm.flags);
        put_varint(out, pm.count);
        put_varint(out, pm.start_seq);
        put_varint(out, pm.last_seq);
        put_zigzag(out, pm.first_time);
        put_zigzag(out, pm.last_time);
    }
}

void PatternRuntime::take_changes(StateDelta& out) {
    for (auto& key : gone_keys_)
        if (key_index_.find(key) == KeySlots::kNone) out.erase.push_back(std::move(key));
    gone_keys_.clear();
    for (uint32_t slot : dirty_slots_) {
        KeyState& ks = keys_[slot];
        // drop_key() clears `dirty`, so a dirty slot holds a live key.
        if (!ks.dirty) continue;
        ks.dirty = false;
        ks.stored = true;
        std::string bytes;
        save_key(ks, bytes);
        out.put.emplace_back(key_name(ks), std::move(bytes));
    }
    dirty_slots_.clear();
}

bool PatternRuntime::restore_key(const std::string& key, std::string_view bytes, std::string* error) {
    auto fail = [&](const char* why) {
        if (error) *error = std::string("pattern state of key \"") + key + "\": " + why;
        return false;
    };
    StateReader in(bytes);
    if (in.byte() != kPatternStateFormat) return fail("unknown format byte");
    const uint32_t next_seq = static_cast<uint32_t>(in.u());
    int64_t throttled = 0;
    const bool has_throttle = in.u() == 1;
    if (has_throttle) throttled = in.i();

    struct EventEntry {
        EventPtr ev;
        uint32_t seq;
    };
    std::vector<EventEntry> events(in.count());
    for (auto& e : events) {
        e.ev = get_event(in, key);
        e.seq = static_cast<uint32_t>(in.u());
        if (!e.ev) return fail("malformed event");
    }
    struct NodeEntry {
        uint64_t pred, ev, stage;
    };
    std::vector<NodeEntry> nodes(in.count());
    for (size_t i = 0; i < nodes.size(); ++i) {
        nodes[i] = NodeEntry{in.u(), in.u(), in.u()};
        if (nodes[i].pred > i || nodes[i].ev >= events.size() || nodes[i].stage >= pattern_.stages.size())
            return fail("node out of range");
    }
    std::vector<std::pair<uint64_t, PartialMatch>> pms(in.count());
    for (auto& [node, pm] : pms) {
        node = in.u();
        pm.node = SharedBuffer::kNone;
        pm.stage = static_cast<uint16_t>(in.u());
        pm.flags = static_cast<uint16_t>(in.u());
        pm.count = static_cast<uint32_t>(in.u());
        pm.start_seq = static_cast<uint32_t>(in.u());
        pm.last_seq = static_cast<uint32_t>(in.u());
        pm.first_time = in.i();
        pm.last_time = in.i();
        if (node > nodes.size() || pm.stage >= pattern_.stages.size()) return fail("partial match out of range");
    }
    if (!in.ok() || !in.at_end()) return fail("truncated or trailing bytes");

    // Restoring is not a change to checkpoint.
    const bool was_tracking = tracking_;
    tracking_ = false;
    const uint32_t found = key_index_.find(key);
    if (found != KeySlots::kNone) drop_key(found);
    std::vector<SharedBuffer::NodeId> ids(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) {
        const auto& n = nodes[i];
        auto pred = n.pred == 0 ? SharedBuffer::kNone : ids[n.pred - 1];
        ids[i] = buffer_.add(pred, static_cast<uint16_t>(n.stage), events[n.ev].ev, events[n.ev].seq);
    }
    uint32_t slot = key_slot(key);
    KeyState& ks = keys_[slot];
    ks.next_seq = next_seq;
    ks.stored = true;
    for (auto& [node, pm] : pms) {
        if (node) {
            pm.node = ids[node - 1];
            buffer_.retain(pm.node);
        }
        ks.pms.push_back(pm);
    }
    for (auto id : ids) buffer_.release(id);  // the references add() handed out
    if (has_throttle) throttle_.set_last(key, throttled);
    if (ks.pms.empty()) {
        drop_key(slot);
    } else {
        schedule(slot);
    }
    tracking_ = was_tracking;
    return true;
}

}  // namespace vigil
