// libFuzzer target: the JSON parser every event goes through (rules/json.h), checked
// against simdjson as a reference. Whatever simdjson accepts (within our nesting
// limit) must parse here to the same values; whatever parses here must write back
// (JsonRef::dump) to text that parses to the same text again. Our parser is more
// lenient than simdjson (invalid UTF-8, "1.", leading zeros), so only that direction
// is compared. Parsing must never crash, hang or read out of bounds.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "rules/json.h"

using namespace vigil;

namespace {

constexpr int kMaxDepth = 128;  // rules/json.cpp's nesting limit

int depth_of(simdjson::dom::element e) {
    int d = 0;
    if (e.is_object()) {
        simdjson::dom::object o = e.get_object().value_unsafe();
        for (auto f : o) d = std::max(d, depth_of(f.value));
        return d + 1;
    }
    if (e.is_array()) {
        simdjson::dom::array a = e.get_array().value_unsafe();
        for (auto x : a) d = std::max(d, depth_of(x));
        return d + 1;
    }
    return 0;
}

bool same(simdjson::dom::element e, JsonRef r) {
    switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
        if (!r.is_object()) return false;
        simdjson::dom::object o = e.get_object().value_unsafe();
        size_t n = 0;
        // Members in order (duplicates kept by both): walk ours alongside.
        const JsonDoc* d = r.doc();
        uint32_t i = r.index() + 1;
        for (auto f : o) {
            if (i >= d->node(r.index()).end) return false;
            const JsonDoc::Node& k = d->node(i);
            if (d->str(k) != std::string_view(f.key)) return false;
            if (!same(f.value, JsonRef(d, i + 1))) return false;
            i = d->node(i + 1).end;
            ++n;
        }
        return n == r.size();
    }
    case simdjson::dom::element_type::ARRAY: {
        if (!r.is_array()) return false;
        simdjson::dom::array a = e.get_array().value_unsafe();
        size_t k = 0;
        for (auto x : a)
            if (!same(x, r.at(k++))) return false;
        return k == r.size();
    }
    case simdjson::dom::element_type::STRING: return r.is_string() && r.as_string() == e.get_string().value_unsafe();
    case simdjson::dom::element_type::INT64:
        return r.is_number() && r.as_number() == static_cast<double>(e.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64:
        return r.is_number() && r.as_number() == static_cast<double>(e.get_uint64().value_unsafe());
    case simdjson::dom::element_type::DOUBLE: return r.is_number() && r.as_number() == e.get_double().value_unsafe();
    case simdjson::dom::element_type::BOOL: return r.is_bool() && r.as_bool() == e.get_bool().value_unsafe();
    case simdjson::dom::element_type::NULL_VALUE: return r.is_null();
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    JsonDoc doc;
    std::string error;
    size_t at = 0;
    bool ours = doc.parse(text, &error, &at);
    if (!ours && (error.empty() || at > size)) __builtin_trap();  // a refusal says why and where

    static simdjson::dom::parser parser;
    simdjson::padded_string padded(text);
    simdjson::dom::element ref;
    if (parser.parse(padded).get(ref) == simdjson::SUCCESS && depth_of(ref) <= kMaxDepth) {
        if (!ours || !same(ref, doc.root())) __builtin_trap();
    }
    if (ours) {
        std::string once = doc.root().dump();
        JsonDoc again;
        if (!again.parse(once) || again.root().dump() != once) __builtin_trap();
    }
    return 0;
}
