#pragma once
// The byte formats of the event log (docs/storage.md, "Record format").
//
// Guarantees: encodings are stable across versions and hosts (explicit byte
// order, never memcpy of host integers); keys sort in LMDB's default memcmp order
// exactly as their numbers do: be64 offsets, and signed times stored as
// be64(time XOR 2^63) so that negative times sort before positive ones.
// Decoding never reads past the value it is given: a truncated or foreign value
// makes decode_record() return false.
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil {

inline constexpr uint8_t kRecordFormat = 1;
// format u8, event_time i64 LE, ingest_time i64 LE, stream/key/topic lengths u16 LE.
inline constexpr size_t kRecordHeaderBytes = 1 + 8 + 8 + 2 + 2 + 2;
inline constexpr size_t kMaxHeaderField = 0xFFFF;

// One stored event, as views into storage-owned bytes (valid only for the
// callback or read transaction that produced them).
struct RecordView {
    uint32_t partition = 0;
    uint64_t offset = 0;
    int64_t event_time = 0;
    int64_t ingest_time = 0;
    std::string_view stream, key, topic, payload;
};

// The same, owning its bytes.
struct Record {
    uint32_t partition = 0;
    uint64_t offset = 0;
    int64_t event_time = 0;
    int64_t ingest_time = 0;
    std::string stream, key, topic, payload;

    static Record from(const RecordView& v);
};

void put_be64(char* out, uint64_t v);
uint64_t get_be64(const char* in);
void put_be32(char* out, uint32_t v);
uint32_t get_be32(const char* in);
std::string be64_key(uint64_t v);
// Signed time as an order-preserving unsigned (flips the sign bit).
inline uint64_t time_bits(int64_t t) { return static_cast<uint64_t>(t) ^ (1ULL << 63); }
inline int64_t time_from_bits(uint64_t b) { return static_cast<int64_t>(b ^ (1ULL << 63)); }

// Appends the record value (header + payload) to `out`. stream, key and topic
// must each be at most kMaxHeaderField bytes (checked by the caller).
void encode_record(int64_t event_time, int64_t ingest_time, std::string_view stream, std::string_view key,
                   std::string_view topic, std::string_view payload, std::string& out);
// The same, into `out` of record_size() bytes (e.g. space reserved in a page).
inline size_t record_size(std::string_view stream, std::string_view key, std::string_view topic,
                          std::string_view payload) {
    return kRecordHeaderBytes + stream.size() + key.size() + topic.size() + payload.size();
}
void encode_record_into(char* out, int64_t event_time, int64_t ingest_time, std::string_view stream,
                        std::string_view key, std::string_view topic, std::string_view payload);
// Parses a value written by encode_record into `out` (partition/offset untouched).
bool decode_record(std::string_view value, RecordView& out);

// time/<p> key: be64(time_bits(event_time)) || be64(offset); 16 bytes.
void encode_time_key(int64_t event_time, uint64_t offset, char out[16]);
void decode_time_key(std::string_view key, int64_t& event_time, uint64_t& offset);

// offsets key: consumer || 0x00 || be32(partition).
std::string offsets_key(std::string_view consumer, uint32_t partition);
bool decode_offsets_key(std::string_view key, std::string& consumer, uint32_t& partition);

// state key: rule || 0x00 || be32(partition) || key.
std::string state_key(std::string_view rule, uint32_t partition, std::string_view key);
std::string state_prefix(std::string_view rule, uint32_t partition);

// alerts key: be64(time_bits(time)) || id.
std::string alert_key(int64_t time, std::string_view id);

// outbox value: u8 flags || u16 LE topic length || topic || [u16 LE key length ||
// alerts key] || alert JSON. flags: qos in bits 0-1; bit 7 set when the alerts key
// (alert_key(), which retention must not delete while the entry waits) follows the
// topic. Values written before that bit existed carry no key; `alert_key` is then empty.
inline constexpr uint8_t kOutboxHasKey = 0x80;
std::string encode_outbox(std::string_view topic, int qos, std::string_view json, std::string_view alert_key = {});
bool decode_outbox(std::string_view value, std::string_view& topic, int& qos, std::string_view& json,
                   std::string_view* alert_key = nullptr);

}  // namespace vigil
