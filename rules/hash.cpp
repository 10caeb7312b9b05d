#include "rules/hash.h"

namespace vigil {

uint64_t stable_hash64(std::string_view bytes, uint64_t seed) {
    StableHasher h(seed);
    h.update(bytes);
    return h.finish();
}

std::string hex_digits(uint64_t v, int digits) {
    static const char* hexd = "0123456789abcdef";
    std::string s(static_cast<size_t>(digits), '0');
    for (int i = digits - 1; i >= 0; --i) {
        s[static_cast<size_t>(i)] = hexd[v & 15];
        v >>= 4;
    }
    return s;
}

}  // namespace vigil
