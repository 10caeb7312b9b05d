#pragma once
// Equality of short byte runs (member names, compared strings) without a call to
// memcmp: used by JSON member lookup (rules/json.cpp), the evaluator and the
// runtimes' key indexes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace vigil {

// Whether the first and the last sizeof(W) of the `n` (sizeof(W) <= n <= 2 sizeof(W))
// bytes at `a` and `b` are equal: together they cover all `n`.
template <class W>
inline bool same_ends(const char* a, const char* b, size_t n) {
    W a0, b0, a1, b1;
    std::memcpy(&a0, a, sizeof(W));
    std::memcpy(&b0, b, sizeof(W));
    std::memcpy(&a1, a + n - sizeof(W), sizeof(W));
    std::memcpy(&b1, b + n - sizeof(W), sizeof(W));
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

// Whether `n` bytes at `a` and `b` are equal. Member names and compared strings are
// mostly under 16 bytes: two overlapping word loads per side (reading only inside
// the `n` bytes) beat a byte loop and a call to memcmp.
inline bool same_bytes(const char* a, const char* b, size_t n) {
    if (n > 16) return std::memcmp(a, b, n) == 0;
    if (n >= 8) return same_ends<uint64_t>(a, b, n);
    if (n >= 4) return same_ends<uint32_t>(a, b, n);
    if (n == 0) return true;
    return a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1];  // 1-3 bytes: all of them
}

// Whether `a` and `b` hold the same bytes (key names in the runtimes' indexes).
inline bool same_text(std::string_view a, std::string_view b) {
    return a.size() == b.size() && same_bytes(a.data(), b.data(), a.size());
}

}  // namespace vigil
