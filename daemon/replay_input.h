#pragma once
// Events for `vigil replay --input` and `vigil test`: one JSON object per event,
// `{"$watermark": T}` lines, key and event time extracted as in live ingest.
//
// With a stream spec from vigil.yaml, extraction is exactly extract_event().
// Without one, default_input_spec() keys events by the rules' key and detects the
// event time per event from the first field present among `ts`, `time`,
// `timestamp`: a number is epoch milliseconds, a string is RFC 3339 (or a number
// in a string). An event with none of them takes the previous event's time (the
// virtual ingest time), 0 for the first.
// Failure modes: make_input_event() returns the RejectReason and a detail line; it
// never throws.
#include <cstdint>
#include <string>
#include <string_view>

#include "rules/event.h"
#include "rules/rule.h"

namespace vigil {

struct InputSpec {
    StreamSpec spec;
    bool detect_time = false;  // no time field configured: look for ts/time/timestamp
};

// The spec for `stream` when the config has none: the key of the first rule that
// names one (and reads `stream`, or any stream), time detection on.
InputSpec default_input_spec(const RuleSet& rules, const std::string& stream);

// The stream replay and tests read as: the first rule's non-empty `stream`, else "input".
std::string default_input_stream(const RuleSet& rules);

// `{"$watermark": T}` (T epoch ms or RFC 3339): true and T in `out`.
bool parse_watermark_line(std::string_view line, int64_t& out);

// Builds the event of one input line. `virtual_now` is the ingest time (and the
// time of an event without one); `offset` its offset in partition 0.
RejectReason make_input_event(const InputSpec& in, std::string_view line, uint64_t offset, int64_t virtual_now,
                              Event& out, std::string* detail);

}  // namespace vigil
