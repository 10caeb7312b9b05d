#pragma once
// An event as the rules see it: its payload parsed once, plus where it came from
// (stream, topic, partition, offset) and when it happened (event time).
//
// Key and event-time extraction follow a StreamSpec (the `streams:` section of
// vigil.yaml) and are the same for live ingest, `vigil ingest`, `vigil replay`
// and `vigil test`, so a rule sees the same event whichever way it arrived.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/hash.h"
#include "rules/json.h"

namespace vigil {

enum class TimeFormat { EpochMs, EpochS, EpochUs, Rfc3339 };
enum class OnMissingTime { IngestTime, Reject };

// A dotted field path ("a.b.c", "items[0]", "a[\"odd key\"]") or a topic segment ("topic[1]").
struct FieldPath {
    std::vector<std::string> parts;  // object member names; "[N]" parts are array indices
    std::vector<int> index;          // -1 for a member name, else the array index of that part
    int topic_segment = -1;          // >= 0: the key comes from this topic segment
    std::string text;                // as written

    static bool parse(std::string_view text, FieldPath& out, std::string* error);
    JsonRef resolve(JsonRef root) const;
};

struct StreamSpec {
    std::string name;
    std::vector<std::string> topics;  // MQTT filters
    int qos = 1;
    std::vector<FieldPath> key;       // empty: one global key ""
    FieldPath time_field;             // empty parts: no time field, use ingest time
    TimeFormat time_format = TimeFormat::EpochMs;
    int64_t max_out_of_order_ms = 0;
    int64_t idle_timeout_ms = 30'000;
    OnMissingTime on_missing = OnMissingTime::IngestTime;
    uint64_t max_event_bytes = 1 << 20;
};

class ConditionPlan;

struct Event {
    int64_t time = 0;         // event time, epoch ms
    int64_t ingest_time = 0;  // wall clock at ingest, epoch ms
    uint32_t partition = 0;
    uint64_t offset = 0;
    std::string stream;
    std::string key;
    std::string topic;
    JsonDoc doc;  // the payload, parsed; it keeps the payload's bytes (one copy per event)
    // Results of conditions evaluated before the event reached the engine (rules/
    // precomputed.h): bit i of cond_known set when condition i of cond_plan was
    // evaluated without an error, its result in bit i of cond_true. Null: none.
    const ConditionPlan* cond_plan = nullptr;
    uint64_t cond_known = 0, cond_true = 0;
    // With cond_plan: bit i of num_known set when the payload's member that the plan
    // reads as number i (ConditionPlan::number_of) holds a number, which is nums[i].
    static constexpr size_t kNumbers = 4;
    uint8_t num_known = 0;
    double nums[kNumbers] = {};
    // index_hash(key), when key_hashed: set with the key by extract_event() and
    // event_meta_from_record(), so the rules' key indexes hash a key once per event,
    // not once per rule. Code that changes `key` afterwards clears key_hashed.
    uint64_t key_hash = 0;
    bool key_hashed = false;

    // The raw bytes as ingested (a view into `doc`: set it with doc.parse()).
    std::string_view payload() const { return doc.text(); }
    JsonRef root() const { return doc.root(); }
};
using EventPtr = std::shared_ptr<const Event>;

// The index hash of the event's key (rules/hash.h index_hash).
inline uint64_t event_key_hash(const Event& ev) { return ev.key_hashed ? ev.key_hash : index_hash(ev.key); }
// Sets key_hash from the event's key.
inline void hash_event_key(Event& ev) {
    ev.key_hash = index_hash(ev.key);
    ev.key_hashed = true;
}

// Why an incoming payload was refused; also the `reason` label of
// vigil_events_rejected_total.
enum class RejectReason { None, TooLarge, NotJson, NotObject, NoKey, NoTime, BadTime };
const char* reject_reason_name(RejectReason r);

// Fills `out` (payload, doc, key, time, topic, stream, ingest_time) from a raw
// payload. Returns RejectReason::None on success; otherwise `detail` says what was
// wrong ("not JSON at byte 17: expected ',' or '}' in object").
RejectReason extract_event(const StreamSpec& spec, std::string_view topic, std::string_view payload,
                           int64_t ingest_time_ms, Event& out, std::string* detail);

// The key of an already-parsed event under `paths` (compound keys are joined with '|').
bool extract_key(const std::vector<FieldPath>& paths, std::string_view topic, JsonRef root, std::string& out);

// Does `topic` match the MQTT filter (with + and # wildcards; a $share/group/ prefix is ignored)?
bool topic_matches(std::string_view filter, std::string_view topic);

}  // namespace vigil
