#pragma once
// LEB128-style unsigned varints for compact, deterministic state encodings
// (Lua state, runtime checkpoints). get_varint never reads past `in`.
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil {

inline void put_varint(std::string& out, uint64_t v) {
    for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    out.push_back(static_cast<char>(v));
}

// Reads one varint at `pos` and advances it; false on truncated or overlong input.
inline bool get_varint(std::string_view in, size_t& pos, uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= in.size()) return false;
        auto b = static_cast<uint8_t>(in[pos++]);
        v |= static_cast<uint64_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

}  // namespace vigil
