#pragma once
// Byte helpers for the keyed-state checkpoints (docs/state.md): varints
// (rules/varint.h), zigzag signed varints, length-prefixed strings, raw IEEE
// doubles, and whole events. Every encoding is deterministic (equal state, equal
// bytes) and the reader never reads past its input.
// Failure modes: a StateReader that meets truncated or malformed input turns
// `ok` false and returns zeros from then on; callers check ok() once at the end
// (and range-check indexes they use before that).
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "rules/event.h"
#include "rules/varint.h"

namespace vigil {

// The leading format byte of each kind of checkpoint record.
inline constexpr uint8_t kPatternStateFormat = 0x01;
inline constexpr uint8_t kWindowStateFormat = 0x11;
inline constexpr uint8_t kLuaStateFormat = 0x21;
inline constexpr uint8_t kEngineStateFormat = 0x31;

inline void put_zigzag(std::string& out, int64_t v) {
    put_varint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
inline void put_bytes(std::string& out, std::string_view s) {
    put_varint(out, s.size());
    out.append(s);
}
inline void put_f64(std::string& out, double d) {
    char b[8];
    std::memcpy(b, &d, 8);
    out.append(b, 8);
}

class StateReader {
public:
    explicit StateReader(std::string_view in, size_t pos = 0) : in_(in), pos_(pos) {}
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == in_.size(); }
    size_t pos() const { return pos_; }
    uint8_t byte() {
        if (!ok_ || pos_ >= in_.size()) return fail(), 0;
        return static_cast<uint8_t>(in_[pos_++]);
    }
    uint64_t u() {
        uint64_t v = 0;
        if (!ok_ || !get_varint(in_, pos_, v)) return fail(), 0;
        return v;
    }
    int64_t i() {
        uint64_t z = u();
        return static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
    }
    std::string_view bytes() {
        uint64_t n = u();
        if (!ok_ || n > in_.size() - pos_) return fail(), std::string_view();
        std::string_view s = in_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    double f64() {
        if (!ok_ || in_.size() - pos_ < 8) return fail(), 0.0;
        double d;
        std::memcpy(&d, in_.data() + pos_, 8);
        pos_ += 8;
        return d;
    }
    // A count of items that each take at least one byte: refuses counts larger
    // than what is left, so a corrupt count cannot make the caller allocate.
    uint64_t count() {
        uint64_t n = u();
        if (ok_ && n > in_.size() - pos_) fail();
        return ok_ ? n : 0;
    }
    void fail() { ok_ = false; }

private:
    std::string_view in_;
    size_t pos_ = 0;
    bool ok_ = true;
};

// An event without its key (the state's key is the event's key): time, ingest
// time, partition, offset, stream, topic, payload.
void put_event(std::string& out, const Event& ev);
// The event back, with `key`, its payload parsed; null when malformed.
EventPtr get_event(StateReader& in, const std::string& key);

}  // namespace vigil
