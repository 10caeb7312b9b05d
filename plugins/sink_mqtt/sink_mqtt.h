#pragma once
// sink_mqtt: publishes alerts at their QoS on one connection (client id
// <client_id>-pub). A QoS 1 alert counts as delivered when its PUBACK arrives; a
// QoS 0 alert as soon as it is written. After a reconnect, alerts in flight are
// forgotten here, so the caller sends them again from the outbox: a consumer may
// see an alert twice, always with the same id.
#include "plugins/plugin.h"

namespace vigil {

std::unique_ptr<Sink> make_sink_mqtt(const SinkContext& ctx);

}  // namespace vigil
