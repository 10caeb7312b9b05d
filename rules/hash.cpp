#include "rules/hash.h"

namespace vigil {

uint64_t stable_hash64(std::string_view bytes, uint64_t seed) {
    StableHasher h(seed);
    h.update(bytes);
    return h.finish();
}

std::string hex_digits(uint64_t v, int digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    // Written into a local buffer: writes through the string's own pointer would make
    // the compiler reload it after each (a char store may alias it).
    char buf[32];
    const int n = digits < 0 ? 0 : digits > 32 ? 32 : digits;
    for (int i = n - 1; i >= 0; --i) {
        buf[i] = kHex[v & 15];
        v >>= 4;
    }
    if (digits <= n) return std::string(buf, static_cast<size_t>(n));
    return std::string(static_cast<size_t>(digits - n), '0').append(buf, static_cast<size_t>(n));
}

}  // namespace vigil
