// Conversions between Lua values and vigil's Value / JSON.
#include <lua.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "rules/json.h"
#include "rules/lua_host.h"

namespace vigil {

namespace {

constexpr int kMaxDepth = 32;

// Integral numbers become Lua integers, so `n // 2` and tostring behave as
// authors expect ("3", not "3.0").
void push_number(lua_State* L, double d) {
    if (d == std::floor(d) && std::fabs(d) < 9.0e15) {
        lua_pushinteger(L, static_cast<lua_Integer>(d));
    } else {
        lua_pushnumber(L, d);
    }
}

void push_json_depth(lua_State* L, JsonRef v, int depth) {
    if (!v.valid() || depth > kMaxDepth || !lua_checkstack(L, 3)) {
        lua_pushnil(L);
        return;
    }
    switch (v.type()) {
    case JsonType::Null: lua_pushnil(L); return;
    case JsonType::Bool: lua_pushboolean(L, v.as_bool()); return;
    case JsonType::Number: push_number(L, v.as_number()); return;
    case JsonType::String: {
        auto s = v.as_string();
        lua_pushlstring(L, s.data(), s.size());
        return;
    }
    case JsonType::Array: {
        size_t n = v.size();
        lua_createtable(L, static_cast<int>(n), 0);
        for (size_t i = 0; i < n; ++i) {
            push_json_depth(L, v.at(i), depth + 1);
            lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
        }
        return;
    }
    case JsonType::Object: {
        size_t n = v.size();
        lua_createtable(L, 0, static_cast<int>(n));
        for (size_t i = 0; i < n; ++i) {
            auto name = v.member_name(i);
            lua_pushlstring(L, name.data(), name.size());
            push_json_depth(L, v.member_value(i), depth + 1);
            lua_rawset(L, -3);
        }
        return;
    }
    }
    lua_pushnil(L);
}

void write_number(lua_State* L, int idx, std::string& out) {
    if (lua_isinteger(L, idx)) {
        out += std::to_string(lua_tointeger(L, idx));
    } else {
        json_number(out, static_cast<double>(lua_tonumber(L, idx)));
    }
}

// A sortable form of a table key: numbers first (by value), then strings
// (bytewise), then booleans; anything else is skipped.
struct KeyForm {
    int rank;
    double num;
    std::string text;  // JSON object member name
    bool operator<(const KeyForm& o) const {
        if (rank != o.rank) return rank < o.rank;
        if (rank == 0 && num != o.num) return num < o.num;
        return text < o.text;
    }
};

bool key_form(lua_State* L, int idx, KeyForm& k) {
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        k.rank = 0;
        k.num = static_cast<double>(lua_tonumber(L, idx));
        k.text.clear();
        write_number(L, idx, k.text);
        return true;
    case LUA_TSTRING: {
        size_t len = 0;
        const char* s = lua_tolstring(L, idx, &len);
        k.rank = 1;
        k.num = 0;
        k.text.assign(s, len);
        return true;
    }
    case LUA_TBOOLEAN:
        k.rank = 2;
        k.num = 0;
        k.text = lua_toboolean(L, idx) ? "true" : "false";
        return true;
    default: return false;
    }
}

void to_json_depth(lua_State* L, int idx, std::string& out, int depth);

void table_to_json(lua_State* L, int idx, std::string& out, int depth) {
    // A sequence 1..n with no other keys is an array; anything else an object.
    lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, idx));
    size_t total = 0;
    bool array = true;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        ++total;
        if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 || lua_tointeger(L, -2) > n) array = false;
        lua_pop(L, 1);
    }
    if (total == 0) {
        out += "{}";
        return;
    }
    if (array && static_cast<lua_Integer>(total) == n) {
        out += '[';
        for (lua_Integer i = 1; i <= n; ++i) {
            if (i > 1) out += ',';
            lua_rawgeti(L, idx, i);
            to_json_depth(L, lua_gettop(L), out, depth + 1);
            lua_pop(L, 1);
        }
        out += ']';
        return;
    }
    std::vector<std::pair<KeyForm, std::string>> members;
    members.reserve(total);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        KeyForm k;
        if (key_form(L, -2, k)) {
            std::string v;
            to_json_depth(L, lua_gettop(L), v, depth + 1);
            members.emplace_back(std::move(k), std::move(v));
        }
        lua_pop(L, 1);
    }
    std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    out += '{';
    for (size_t i = 0; i < members.size(); ++i) {
        if (i) out += ',';
        json_escape(out, members[i].first.text);
        out += ':';
        out += members[i].second;
    }
    out += '}';
}

void to_json_depth(lua_State* L, int idx, std::string& out, int depth) {
    if (depth > kMaxDepth || !lua_checkstack(L, 4)) {
        out += "null";
        return;
    }
    switch (lua_type(L, idx)) {
    case LUA_TNIL: out += "null"; return;
    case LUA_TBOOLEAN: out += lua_toboolean(L, idx) ? "true" : "false"; return;
    case LUA_TNUMBER: {
        if (!lua_isinteger(L, idx) && !std::isfinite(lua_tonumber(L, idx))) {
            out += "null";
            return;
        }
        write_number(L, idx, out);
        return;
    }
    case LUA_TSTRING: {
        size_t len = 0;
        const char* s = lua_tolstring(L, idx, &len);
        json_escape(out, std::string_view(s, len));
        return;
    }
    case LUA_TTABLE: table_to_json(L, idx, out, depth); return;
    default: json_escape(out, std::string("<") + lua_typename(L, lua_type(L, idx)) + ">"); return;
    }
}

}  // namespace

void lua_push_json(lua_State* L, JsonRef v) { push_json_depth(L, v, 0); }

void lua_push_value(lua_State* L, const Value& v) {
    switch (v.kind) {
    case Value::Kind::Missing:
    case Value::Kind::Null: lua_pushnil(L); return;
    case Value::Kind::Bool: lua_pushboolean(L, v.boolean); return;
    case Value::Kind::Number: push_number(L, v.number); return;
    case Value::Kind::String: lua_pushlstring(L, v.str.data(), v.str.size()); return;
    case Value::Kind::Json: lua_push_json(L, v.json); return;
    }
    lua_pushnil(L);
}

void lua_push_event(lua_State* L, const Event& ev) {
    // Sized for the payload's members and the six metadata fields at once: no rehash.
    JsonRef root = ev.root();
    size_t n = root.is_object() ? root.size() : 0;
    lua_createtable(L, 0, static_cast<int>(n) + 6);
    for (size_t i = 0; i < n; ++i) {
        auto name = root.member_name(i);
        lua_pushlstring(L, name.data(), name.size());
        push_json_depth(L, root.member_value(i), 1);
        lua_rawset(L, -3);
    }
    lua_pushinteger(L, ev.time);
    lua_setfield(L, -2, "$time");
    lua_pushlstring(L, ev.key.data(), ev.key.size());
    lua_setfield(L, -2, "$key");
    lua_pushlstring(L, ev.topic.data(), ev.topic.size());
    lua_setfield(L, -2, "$topic");
    lua_pushlstring(L, ev.stream.data(), ev.stream.size());
    lua_setfield(L, -2, "$stream");
    lua_pushinteger(L, ev.partition);
    lua_setfield(L, -2, "$partition");
    lua_pushinteger(L, static_cast<lua_Integer>(ev.offset));
    lua_setfield(L, -2, "$offset");
}

void lua_value_to_json(lua_State* L, int index, std::string& out) {
    to_json_depth(L, lua_absindex(L, index), out, 0);
}

}  // namespace vigil

