#pragma once
// Stable 64-bit hashing for rule versions, alert ids and key partitioning.
// The function is fixed forever: alert ids and partition assignment depend on it.
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil {

// FNV-1a over the bytes, finished with the splitmix64 mixer.
uint64_t stable_hash64(std::string_view bytes, uint64_t seed = 0);

// The same hash fed in pieces: update(a); update(b); finish() equals
// stable_hash64(a + b, seed), without building the concatenation.
class StableHasher {
public:
    explicit StableHasher(uint64_t seed = 0) : h_(1469598103934665603ULL ^ seed) {}
    void update(std::string_view bytes) {
        for (unsigned char c : bytes) {
            h_ ^= c;
            h_ *= 1099511628211ULL;
        }
    }
    void update(char c) {
        h_ ^= static_cast<unsigned char>(c);
        h_ *= 1099511628211ULL;
    }
    uint64_t finish() const {
        uint64_t h = h_ + 0x9E3779B97F4A7C15ULL;
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
        h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
        return h ^ (h >> 31);
    }

private:
    uint64_t h_;
};
// `bits` hex digits of a hash (8 for rule versions, 16 for alert ids).
std::string hex_digits(uint64_t v, int digits);

}  // namespace vigil
