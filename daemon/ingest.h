#pragma once
// Live ingest: a message from a source becomes a record in the log before the
// source's callback returns (and so before MQTT acknowledges it).
//
// A payload that is not JSON, too large, or lacks a key or a valid time is
// rejected: counted by reason (vigil_events_rejected_total{reason}) and logged at
// a bounded rate, and acknowledged, since redelivering it would not make it valid.
// A record that cannot be stored (disk full, I/O error) is retried with backoff
// while the daemon runs, holding the acknowledgement back; on shutdown with the
// store still failing, the process exits at once (exit code 75) without
// acknowledging, so the broker redelivers the event to the next run.
// Thread rules: on_message may be called from several source threads at once.
#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "daemon/rate_limit.h"
#include "rules/event.h"

namespace vigil {

class EventLog;

class Ingest {
public:
    explicit Ingest(EventLog& log) : log_(log) {}
    void on_message(const StreamSpec& stream, std::string_view topic, std::string_view payload);
    void request_stop() { stopping_ = true; }

    uint64_t accepted() const { return accepted_.load(); }
    uint64_t rejected(RejectReason r) const { return rejected_[static_cast<size_t>(r)].load(); }
    uint64_t rejected_total() const;
    uint64_t store_errors() const { return store_errors_.load(); }

private:
    static constexpr size_t kReasons = 7;
    EventLog& log_;
    std::atomic<bool> stopping_{false};
    std::atomic<uint64_t> accepted_{0};
    std::array<std::atomic<uint64_t>, kReasons> rejected_{};
    std::atomic<uint64_t> store_errors_{0};
    RateLimit reject_log_;
    RateLimit store_log_;
};

}  // namespace vigil
