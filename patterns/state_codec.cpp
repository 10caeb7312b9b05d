// Whole events in the checkpoints (patterns/state_codec.h): pattern keys store
// the events of their partial matches this way.
#include "patterns/state_codec.h"

namespace vigil {

void put_event(std::string& out, const Event& ev) {
    put_zigzag(out, ev.time);
    put_zigzag(out, ev.ingest_time);
    put_varint(out, ev.partition);
    put_varint(out, ev.offset);
    put_bytes(out, ev.stream);
    put_bytes(out, ev.topic);
    put_bytes(out, ev.payload());
}

EventPtr get_event(StateReader& in, const std::string& key) {
    auto ev = std::make_shared<Event>();
    ev->time = in.i();
    ev->ingest_time = in.i();
    ev->partition = static_cast<uint32_t>(in.u());
    ev->offset = in.u();
    ev->stream.assign(in.bytes());
    ev->topic.assign(in.bytes());
    const std::string_view payload = in.bytes();
    ev->key = key;
    if (!in.ok() || !ev->doc.parse(payload)) return nullptr;
    return ev;
}

}  // namespace vigil
