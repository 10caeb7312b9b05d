#pragma once
// sink_stdout: writes each alert as one JSON line to standard output (or, with
// SinkContext::file set, appends to that file); delivered once written.
#include "plugins/plugin.h"

namespace vigil {

std::unique_ptr<Sink> make_sink_stdout(const SinkContext& ctx);

}  // namespace vigil
