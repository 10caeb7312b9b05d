#pragma once
// source_mqtt: subscribes to every stream's topics at the stream's QoS, with a
// persistent session, and hands each message to SourceContext::ingest before the
// PUBACK goes out (see plugins/mqtt_client.h). With `connections: N > 1` it opens
// N clients (ids <client_id>-1..N) in the shared subscription group
// `$share/<group>/<filter>`, so one group commit can carry N events.
#include "plugins/plugin.h"

namespace vigil {

std::unique_ptr<Source> make_source_mqtt(const SourceContext& ctx);

}  // namespace vigil
