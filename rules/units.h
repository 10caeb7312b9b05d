#pragma once
// Durations (`500ms`, `5s`, `10m`, `2h`, `7d`) and sizes (`512MiB`, `4GiB`) as
// written in config and rules, and event-time formats.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil {

// Milliseconds, or nullopt when `text` is not a duration. A bare number is refused
// so that `within: 10` cannot be misread.
std::optional<int64_t> parse_duration_ms(std::string_view text);
// Bytes: B, KiB, MiB, GiB, TiB (and KB/MB/GB as powers of 1000).
std::optional<uint64_t> parse_size_bytes(std::string_view text);
// "5s", "10m", "1500ms": the shortest exact spelling.
std::string format_duration(int64_t ms);

// RFC 3339 timestamp ("2026-01-01T00:00:00Z", offsets and fractions allowed)
// to epoch milliseconds.
std::optional<int64_t> parse_rfc3339_ms(std::string_view text);
std::string format_rfc3339_ms(int64_t ms);
// A command-line time: RFC 3339 or epoch milliseconds.
std::optional<int64_t> parse_time_arg_ms(std::string_view text);

}  // namespace vigil
