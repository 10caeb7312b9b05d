#pragma once
// Stable 64-bit hashing for rule versions, alert ids and key partitioning.
// The function is fixed forever: alert ids and partition assignment depend on it.
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil {

// FNV-1a over the bytes, finished with the splitmix64 mixer.
uint64_t stable_hash64(std::string_view bytes, uint64_t seed = 0);
// `bits` hex digits of a hash (8 for rule versions, 16 for alert ids).
std::string hex_digits(uint64_t v, int digits);

}  // namespace vigil
