// Byte form of plain Lua data for state checkpoints.
//
//   'F' false | 'T' true | 'I' zigzag varint | 'D' 8-byte little-endian IEEE
//   double | 'S' varint length, bytes | 'M' varint count, count x (key, value)
//
// Table entries are sorted by their encoded key bytes, so equal tables give
// equal bytes whatever their insertion history.
#include <lua.hpp>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "rules/varint.h"
#include "rules/lua_host.h"

namespace vigil {

namespace {

constexpr int kMaxDepth = 32;



bool encode(lua_State* L, int idx, std::string& out, std::string* error, int depth) {
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: out.push_back(lua_toboolean(L, idx) ? 'T' : 'F'); return true;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            auto i = static_cast<int64_t>(lua_tointeger(L, idx));
            out.push_back('I');
            put_varint(out, (static_cast<uint64_t>(i) << 1) ^ static_cast<uint64_t>(i >> 63));
        } else {
            double d = static_cast<double>(lua_tonumber(L, idx));
            uint64_t bits;
            std::memcpy(&bits, &d, 8);
            out.push_back('D');
            for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((bits >> (8 * b)) & 0xff));
        }
        return true;
    case LUA_TSTRING: {
        size_t len = 0;
        const char* s = lua_tolstring(L, idx, &len);
        out.push_back('S');
        put_varint(out, len);
        out.append(s, len);
        return true;
    }
    case LUA_TTABLE: {
        if (depth >= kMaxDepth || !lua_checkstack(L, 4)) {
            if (error) *error = "state nested deeper than 32 levels (a cycle?)";
            return false;
        }
        std::vector<std::pair<std::string, std::string>> entries;
        lua_pushnil(L);
        while (lua_next(L, idx) != 0) {
            std::string k, v;
            int kt = lua_type(L, -2);
            if ((kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN) ||
                !encode(L, lua_gettop(L) - 1, k, error, depth + 1) || !encode(L, lua_gettop(L), v, error, depth + 1)) {
                if (error && error->empty()) *error = std::string("state has a key of type ") + lua_typename(L, kt);
                lua_pop(L, 2);
                return false;
            }
            entries.emplace_back(std::move(k), std::move(v));
            lua_pop(L, 1);
        }
        std::sort(entries.begin(), entries.end());
        out.push_back('M');
        put_varint(out, entries.size());
        for (const auto& [k, v] : entries) {
            out += k;
            out += v;
        }
        return true;
    }
    default:
        if (error) *error = std::string("state holds a ") + lua_typename(L, lua_type(L, idx)) + " (only plain data can be saved)";
        return false;
    }
}

// Pushes one decoded value. Returns false with nothing pushed on malformed input.
bool decode(lua_State* L, std::string_view in, size_t& pos, int depth) {
    if (pos >= in.size() || depth > kMaxDepth || !lua_checkstack(L, 4)) return false;
    char tag = in[pos++];
    uint64_t v = 0;
    switch (tag) {
    case 'F': lua_pushboolean(L, 0); return true;
    case 'T': lua_pushboolean(L, 1); return true;
    case 'I':
        if (!get_varint(in, pos, v)) return false;
        lua_pushinteger(L, static_cast<lua_Integer>(static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1)));
        return true;
    case 'D': {
        if (in.size() - pos < 8) return false;
        uint64_t bits = 0;
        for (int b = 0; b < 8; ++b) bits |= static_cast<uint64_t>(static_cast<uint8_t>(in[pos + b])) << (8 * b);
        pos += 8;
        double d;
        std::memcpy(&d, &bits, 8);
        lua_pushnumber(L, d);
        return true;
    }
    case 'S':
        if (!get_varint(in, pos, v) || v > in.size() - pos) return false;
        lua_pushlstring(L, in.data() + pos, static_cast<size_t>(v));
        pos += static_cast<size_t>(v);
        return true;
    case 'M': {
        if (!get_varint(in, pos, v) || v > in.size() - pos) return false;
        lua_createtable(L, 0, static_cast<int>(v));
        for (uint64_t i = 0; i < v; ++i) {
            if (!decode(L, in, pos, depth + 1)) {
                lua_pop(L, 1);
                return false;
            }
            int kt = lua_type(L, -1);
            bool bad_key = kt == LUA_TTABLE || (kt == LUA_TNUMBER && lua_tonumber(L, -1) != lua_tonumber(L, -1));
            if (bad_key || !decode(L, in, pos, depth + 1)) {
                lua_pop(L, 2);
                return false;
            }
            lua_rawset(L, -3);
        }
        return true;
    }
    default: return false;
    }
}

}  // namespace

bool lua_serialize(lua_State* L, int index, std::string& out, std::string* error) {
    return encode(L, lua_absindex(L, index), out, error, 0);
}

bool lua_deserialize(lua_State* L, std::string_view bytes, std::string* error) {
    size_t pos = 0;
    if (decode(L, bytes, pos, 0)) {
        if (pos == bytes.size()) return true;
        lua_pop(L, 1);
    }
    if (error) *error = "malformed Lua state bytes";
    return false;
}

}  // namespace vigil
