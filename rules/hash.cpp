#include "rules/hash.h"

namespace vigil {

uint64_t stable_hash64(std::string_view bytes, uint64_t seed) {
    StableHasher h(seed);
    h.update(bytes);
    return h.finish();
}

std::string hex_digits(uint64_t v, int digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    if (digits == 16) {  // alert ids: two digits per byte, written into the string in place
        std::string s(16, '0');
        char* out = s.data();
        for (int i = 7; i >= 0; --i, v >>= 8) {
            out[2 * i] = kHex[(v >> 4) & 15];
            out[2 * i + 1] = kHex[v & 15];
        }
        return s;
    }
    std::string s(static_cast<size_t>(digits), '0');
    for (int i = digits - 1; i >= 0 && v; --i, v >>= 4) s[static_cast<size_t>(i)] = kHex[v & 15];
    return s;
}

}  // namespace vigil
