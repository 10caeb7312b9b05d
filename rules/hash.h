#pragma once
// Stable 64-bit hashing for rule versions, alert ids and key partitioning
// (stable_hash64, StableHasher): fixed forever, alert ids and partition assignment
// depend on it. And index_hash, a fast hash for in-memory indexes only, which may
// change with any version.
#include <cstdint>
#include <cstring>
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

// A fast hash for in-memory indexes (pattern and window keys, the table cache), inline: 8 bytes
// per 64x64->128-bit multiply. Not stable across versions: never store it.
inline uint64_t index_hash(std::string_view s) {
    auto load64 = [](const char* p) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        return w;
    };
    auto load32 = [](const char* p) {
        uint32_t w;
        std::memcpy(&w, p, 4);
        return uint64_t(w);
    };
    auto mum = [](uint64_t a, uint64_t b) {
        __uint128_t m = static_cast<__uint128_t>(a) * b;
        return static_cast<uint64_t>(m) ^ static_cast<uint64_t>(m >> 64);
    };
    constexpr uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL;
    const char* p = s.data();
    size_t n = s.size();
    uint64_t h = k0 ^ (n * k1);
    if (n >= 8) {
        for (; n > 8; p += 8, n -= 8) h = mum(h ^ load64(p), k1);
        h = mum(h ^ load64(p + n - 8), k0);  // the last 8 bytes (overlapping what came before)
    } else if (n >= 4) {
        h = mum(h ^ (load32(p) << 32 | load32(p + n - 4)), k0);
    } else if (n > 0) {
        auto b = [&](size_t i) { return uint64_t(static_cast<unsigned char>(p[i])); };
        h = mum(h ^ (b(0) << 16 | b(n / 2) << 8 | b(n - 1)), k0);
    }
    return mum(h, k1 ^ 0x8ebc6af09c88c6e3ULL);
}

// `bits` hex digits of a hash (8 for rule versions, 16 for alert ids).
std::string hex_digits(uint64_t v, int digits);

}  // namespace vigil
