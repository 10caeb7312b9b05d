#include "storage/record.h"

#include <bit>
#include <cstring>

namespace vigil {
namespace {

void put_le(char* out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

uint64_t get_le(const char* in, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
    return v;
}

}  // namespace

Record Record::from(const RecordView& v) {
    return Record{v.partition,          v.offset,          v.event_time,        v.ingest_time,
                  std::string(v.stream), std::string(v.key), std::string(v.topic), std::string(v.payload)};
}

void put_be64(char* out, uint64_t v) {
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
    std::memcpy(out, &v, 8);
}

uint64_t get_be64(const char* in) {
    uint64_t v;
    std::memcpy(&v, in, 8);
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
    return v;
}

void put_be32(char* out, uint32_t v) {
    for (int i = 3; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xFF);
}

uint32_t get_be32(const char* in) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
    return v;
}

std::string be64_key(uint64_t v) {
    std::string s(8, '\0');
    put_be64(s.data(), v);
    return s;
}

void encode_record_into(char* h, int64_t event_time, int64_t ingest_time, std::string_view stream,
                        std::string_view key, std::string_view topic, std::string_view payload) {
    h[0] = static_cast<char>(kRecordFormat);
    put_le(h + 1, static_cast<uint64_t>(event_time), 8);
    put_le(h + 9, static_cast<uint64_t>(ingest_time), 8);
    put_le(h + 17, stream.size(), 2);
    put_le(h + 19, key.size(), 2);
    put_le(h + 21, topic.size(), 2);
    char* at = h + kRecordHeaderBytes;
    for (std::string_view part : {stream, key, topic, payload}) {
        if (!part.empty()) std::memcpy(at, part.data(), part.size());
        at += part.size();
    }
}

void encode_record(int64_t event_time, int64_t ingest_time, std::string_view stream, std::string_view key,
                   std::string_view topic, std::string_view payload, std::string& out) {
    size_t at = out.size();
    out.resize(at + record_size(stream, key, topic, payload));
    encode_record_into(out.data() + at, event_time, ingest_time, stream, key, topic, payload);
}

bool decode_record(std::string_view value, RecordView& out) {
    if (value.size() < kRecordHeaderBytes || static_cast<uint8_t>(value[0]) != kRecordFormat) return false;
    const char* h = value.data();
    size_t ls = get_le(h + 17, 2), lk = get_le(h + 19, 2), lt = get_le(h + 21, 2);
    if (kRecordHeaderBytes + ls + lk + lt > value.size()) return false;
    out.event_time = static_cast<int64_t>(get_le(h + 1, 8));
    out.ingest_time = static_cast<int64_t>(get_le(h + 9, 8));
    size_t at = kRecordHeaderBytes;
    out.stream = value.substr(at, ls);
    at += ls;
    out.key = value.substr(at, lk);
    at += lk;
    out.topic = value.substr(at, lt);
    at += lt;
    out.payload = value.substr(at);
    return true;
}

void encode_time_key(int64_t event_time, uint64_t offset, char out[16]) {
    put_be64(out, time_bits(event_time));
    put_be64(out + 8, offset);
}

void decode_time_key(std::string_view key, int64_t& event_time, uint64_t& offset) {
    event_time = key.size() >= 8 ? time_from_bits(get_be64(key.data())) : 0;
    offset = key.size() >= 16 ? get_be64(key.data() + 8) : 0;
}

std::string offsets_key(std::string_view consumer, uint32_t partition) {
    std::string s(consumer);
    s.push_back('\0');
    s.resize(s.size() + 4);
    put_be32(s.data() + s.size() - 4, partition);
    return s;
}

bool decode_offsets_key(std::string_view key, std::string& consumer, uint32_t& partition) {
    if (key.size() < 5 || key[key.size() - 5] != '\0') return false;
    consumer.assign(key.substr(0, key.size() - 5));
    partition = get_be32(key.data() + key.size() - 4);
    return true;
}

std::string state_prefix(std::string_view rule, uint32_t partition) { return offsets_key(rule, partition); }

std::string state_key(std::string_view rule, uint32_t partition, std::string_view key) {
    std::string s = state_prefix(rule, partition);
    s.append(key);
    return s;
}

std::string alert_key(int64_t time, std::string_view id) {
    std::string s = be64_key(time_bits(time));
    s.append(id);
    return s;
}

std::string encode_outbox(std::string_view topic, int qos, std::string_view json, std::string_view alert_key) {
    bool keyed = !alert_key.empty() && alert_key.size() <= kMaxHeaderField;
    std::string s(3, '\0');
    s.reserve(3 + topic.size() + 2 + alert_key.size() + json.size());
    s[0] = static_cast<char>((qos & 0x03) | (keyed ? kOutboxHasKey : 0));
    put_le(s.data() + 1, topic.size(), 2);
    s.append(topic);
    if (keyed) {
        char n[2];
        put_le(n, alert_key.size(), 2);
        s.append(n, 2).append(alert_key);
    }
    s.append(json);
    return s;
}

bool decode_outbox(std::string_view value, std::string_view& topic, int& qos, std::string_view& json,
                   std::string_view* alert_key) {
    if (value.size() < 3) return false;
    auto flags = static_cast<unsigned char>(value[0]);
    qos = flags & 0x03;
    size_t lt = get_le(value.data() + 1, 2);
    if (3 + lt > value.size()) return false;
    topic = value.substr(3, lt);
    size_t pos = 3 + lt;
    std::string_view key;
    if (flags & kOutboxHasKey) {
        if (pos + 2 > value.size()) return false;
        size_t lk = get_le(value.data() + pos, 2);
        if (pos + 2 + lk > value.size()) return false;
        key = value.substr(pos + 2, lk);
        pos += 2 + lk;
    }
    if (alert_key) *alert_key = key;
    json = value.substr(pos);
    return true;
}

}  // namespace vigil
