#pragma once
// Alerts (SPEC section 6) and the interface runtimes emit them through.
//
// An alert's id is deterministic: a hash of rule id, rule version, kind, key and
// the matched [partition, offset] pairs (for windows: the window bounds), so the
// daemon and a replay of the same log raise the same id for the same match.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rules/event.h"

namespace vigil {

// The events one stage of an alert matched, in order. Most stages match one event:
// up to kInline are held in place, more in a heap block (an alert is built for each
// match, and a block per stage cost as much as the rest of the alert).
class EventList {
public:
    static constexpr uint32_t kInline = 2;
    EventList() = default;
    EventList(std::initializer_list<EventPtr> evs) {
        for (const auto& e : evs) push_back(e);
    }
    EventList(const EventList& o) {
        for (const auto& e : o) push_back(e);
    }
    EventList(EventList&& o) noexcept : size_(o.size_), heap_(std::move(o.heap_)) {
        for (uint32_t i = 0; i < kInline; ++i) inline_[i] = std::move(o.inline_[i]);
        o.size_ = 0;
        o.heap_.clear();
    }
    EventList& operator=(const EventList& o) {
        if (this != &o) *this = EventList(o);
        return *this;
    }
    EventList& operator=(EventList&& o) noexcept {
        if (this == &o) return *this;
        size_ = o.size_;
        heap_ = std::move(o.heap_);
        for (uint32_t i = 0; i < kInline; ++i) inline_[i] = std::move(o.inline_[i]);
        o.size_ = 0;
        o.heap_.clear();
        return *this;
    }

    void push_back(EventPtr e) {
        if (size_ < kInline) {
            inline_[size_++] = std::move(e);
            return;
        }
        if (size_ == kInline) {  // the inline events move to the heap block, which then holds all
            heap_.reserve(2 * kInline);
            for (auto& x : inline_) heap_.push_back(std::move(x));
        }
        heap_.push_back(std::move(e));
        ++size_;
    }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    EventPtr* begin() { return size_ <= kInline ? inline_ : heap_.data(); }
    EventPtr* end() { return begin() + size_; }
    const EventPtr* begin() const { return size_ <= kInline ? inline_ : heap_.data(); }
    const EventPtr* end() const { return begin() + size_; }
    EventPtr& operator[](size_t i) { return begin()[i]; }
    const EventPtr& operator[](size_t i) const { return begin()[i]; }
    const EventPtr& front() const { return begin()[0]; }
    const EventPtr& back() const { return begin()[size_ - 1]; }

private:
    uint32_t size_ = 0;
    std::vector<EventPtr> heap_;  // all the events when size_ > kInline, else empty
    EventPtr inline_[kInline];    // the events when size_ <= kInline
};

struct Alert {
    std::string id;
    std::string rule;
    std::string version;
    std::string kind;  // match | timeout | window | lua
    std::string key;
    std::string severity;
    int64_t time = 0;         // event time of the last matched event (window end for windows)
    int64_t detected_at = 0;  // wall clock (virtual clock in replay/test)
    std::vector<std::pair<std::string, EventList>> events;  // per stage, in stage order
    std::optional<std::pair<int64_t, int64_t>> window;                  // [start, end)
    std::string values_json;   // kind window: {"avg_t": 93.2, ...}
    std::string payload_json;  // emit.payload rendered, "{}" when none
    std::string topic;         // resolved topic; "" = the sink's default template
    int qos = -1;

    // Sets `id` from rule, version, kind, key, offsets and window.
    void assign_id();
    // The alert as one JSON object (SPEC section 6).
    std::string to_json() const;
};

class AlertSink {
public:
    virtual ~AlertSink() = default;
    virtual void emit(Alert&& alert) = 0;
};

// Collects alerts in memory (replay, tests).
class VectorAlertSink : public AlertSink {
public:
    void emit(Alert&& alert) override { alerts.push_back(std::move(alert)); }
    std::vector<Alert> alerts;
};

// Expands {rule}, {key}, {severity}, {kind} in a topic template. Characters that
// MQTT treats specially (+ # /) in substituted values are replaced by '_'.
std::string render_topic(std::string_view tmpl, const Alert& a);

}  // namespace vigil
