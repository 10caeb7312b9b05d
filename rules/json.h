#pragma once
// JSON documents for events and alerts.
//
// A JsonDoc is one parsed JSON text stored flat: a vector of nodes and one string
// buffer, so parsing an event costs two allocations whatever its shape, and a
// JsonRef (document pointer + node index) is a cheap, copyable view into it.
// Guarantees: parse() either fills the document completely or reports the byte
// offset and reason of the first error; it never throws. Refs stay valid as long
// as the JsonDoc lives and is not re-parsed. Thread rules: a const JsonDoc may be
// read from any number of threads.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/same_bytes.h"

namespace vigil {

enum class JsonType : uint8_t { Null, Bool, Number, String, Array, Object };

class JsonDoc;

// An allocator whose resize() leaves trivial elements uninitialised: the parser sizes
// the node array ahead and writes each node once.
template <class T>
struct NoInitAllocator : std::allocator<T> {
    template <class U>
    struct rebind {
        using other = NoInitAllocator<U>;
    };
    NoInitAllocator() = default;
    template <class U>
    NoInitAllocator(const NoInitAllocator<U>&) noexcept {}
    template <class U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... A>
    void construct(U* p, A&&... a) {
        ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
    }
};

class JsonRef {
public:
    JsonRef() = default;
    JsonRef(const JsonDoc* doc, uint32_t index) : doc_(doc), index_(index) {}

    // A ref obtained from a missing member or an out-of-range index is invalid.
    bool valid() const { return doc_ != nullptr; }
    JsonType type() const;
    bool is_null() const { return valid() && type() == JsonType::Null; }
    bool is_bool() const { return valid() && type() == JsonType::Bool; }
    bool is_number() const { return valid() && type() == JsonType::Number; }
    bool is_string() const { return valid() && type() == JsonType::String; }
    bool is_array() const { return valid() && type() == JsonType::Array; }
    bool is_object() const { return valid() && type() == JsonType::Object; }

    bool as_bool() const;
    double as_number() const;
    std::string_view as_string() const;

    // Object member by name (first match), array element by index.
    JsonRef operator[](std::string_view key) const;
    JsonRef at(size_t i) const;
    // Number of array elements or object members; 0 for scalars.
    size_t size() const;
    // For objects: the i-th member's name and value (i < size()).
    std::string_view member_name(size_t i) const;
    JsonRef member_value(size_t i) const;

    // Appends this value as compact JSON.
    void write(std::string& out) const;
    std::string dump() const;

    const JsonDoc* doc() const { return doc_; }
    uint32_t index() const { return index_; }

private:
    const JsonDoc* doc_ = nullptr;
    uint32_t index_ = 0;
};

class JsonDoc {
public:
    // 16 bytes: a number, a string's place in the string buffer and a container's
    // size share the second half (read only the one that `type` names).
    struct Node {
        JsonType type;
        bool boolean;
        uint32_t end;  // index one past this node's subtree
        union {
            double number;
            struct {
                uint32_t off, len;
            } span;          // strings: bytes [off, off + len) of the string buffer
            uint32_t count;  // array elements / object members
        };
    };
    static_assert(sizeof(Node) == 16);

    // Parses `text`. On failure returns false, sets `error` and `error_offset`
    // (byte offset into text) and leaves the document empty.
    bool parse(std::string_view text, std::string* error = nullptr, size_t* error_offset = nullptr);
    static bool parse(std::string_view text, JsonDoc& out, std::string* error = nullptr,
                      size_t* error_offset = nullptr) {
        return out.parse(text, error, error_offset);
    }

    JsonRef root() const { return nodes_.empty() ? JsonRef() : JsonRef(this, 0); }
    bool empty() const { return nodes_.empty(); }
    // The text the document was parsed from (the document keeps the one copy of it);
    // empty for a document built by hand or one whose parse failed.
    std::string_view text() const { return std::string_view(strings_.data(), text_len_); }
    void clear();

    // Building documents by hand (tests, YAML test events, table rows): start a
    // container, add values, end it. Object members are added as key() then a value.
    void begin_object();
    void begin_array();
    void end();  // closes the innermost open container
    void key(std::string_view k);
    void null_value();
    void bool_value(bool b);
    void number_value(double d);
    void string_value(std::string_view s);
    // Copies a value from another document.
    void copy_value(JsonRef v);

    const Node& node(uint32_t i) const { return nodes_[i]; }
    // (No bounds check: spans are made by the parser and the builder, inside strings_.)
    std::string_view str(const Node& n) const { return std::string_view(strings_.data() + n.span.off, n.span.len); }
    // The index of the value of the first member named `key` of the object at node
    // `object`, or kNoMember.
    static constexpr uint32_t kNoMember = UINT32_MAX;
    uint32_t member_index(uint32_t object, std::string_view key) const {
        const Node* n = nodes_.data();
        const char* s = strings_.data();
        const uint32_t end = n[object].end;
        for (uint32_t i = object + 1; i < end; i = n[i + 1].end)
            if (n[i].span.len == key.size() && same_bytes(s + n[i].span.off, key.data(), key.size())) return i + 1;
        return kNoMember;
    }
    size_t memory_bytes() const { return nodes_.capacity() * sizeof(Node) + strings_.capacity(); }

    // The parsed form as flat data, to hand a document to another thread as a few
    // contiguous copies: the nodes, and the buffer they point into (the text, its
    // first text_size() bytes, then the strings that had escapes). assign() makes this
    // document equal to the one they were read from.
    const Node* nodes_data() const { return nodes_.data(); }
    size_t node_count() const { return nodes_.size(); }
    std::string_view buffer() const { return strings_; }
    size_t text_size() const { return text_len_; }
    void assign(const Node* nodes, size_t count, std::string_view buffer, size_t text_size) {
        nodes_.assign(nodes, nodes + count);
        strings_.assign(buffer);
        text_len_ = text_size;
        open_.clear();
    }

private:
    friend class JsonParser;
    uint32_t push(JsonType t) {
        auto i = static_cast<uint32_t>(nodes_.size());
        nodes_.push_back(Node{t, false, i + 1, {0.0}});
        return i;
    }
    void added_value();

    std::vector<Node, NoInitAllocator<Node>> nodes_;
    std::string strings_;  // after parse(): the text (text_len_ bytes), then the decoded strings that had escapes
    size_t text_len_ = 0;
    std::vector<uint32_t> open_;  // builder stack of open containers
};

// JsonRef's accessors, inline: every field read of the per-event path goes through them.
inline JsonType JsonRef::type() const { return doc_->node(index_).type; }
inline bool JsonRef::as_bool() const { return valid() && doc_->node(index_).boolean; }
inline JsonRef JsonRef::operator[](std::string_view key) const {
    if (!is_object()) return {};
    const uint32_t i = doc_->member_index(index_, key);
    return i == JsonDoc::kNoMember ? JsonRef() : JsonRef(doc_, i);
}
inline double JsonRef::as_number() const { return is_number() ? doc_->node(index_).number : 0.0; }
inline std::string_view JsonRef::as_string() const {
    return is_string() ? doc_->str(doc_->node(index_)) : std::string_view();
}

// Appends `s` as a quoted, escaped JSON string.
void json_escape(std::string& out, std::string_view s);
// Appends a number the way JSON readers expect (integers without a fraction).
void json_number(std::string& out, double d);
// The same text for a finite `d`, written into `buf` (event keys and table keys
// of numbers are this text).
std::string_view json_number(char (&buf)[32], double d);

}  // namespace vigil
