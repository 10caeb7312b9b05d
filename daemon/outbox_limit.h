#pragma once
// The bound on the outbox (alerts.max_outbox) and what happens when it is reached
// (alerts.on_full, docs/operations.md "The outbox").
//
// Guarantees
//  - block: admit() says no while the outbox holds max_outbox alerts or more;
//    the engine workers then stop reading the log (and so stop raising alerts)
//    until the publisher has drained it below the bound. Events keep landing in
//    the durable log, so nothing is lost. The bound is checked before each read
//    batch, so the outbox can exceed it by the alerts of one checkpoint per worker.
//  - drop_oldest: admit() always says yes; enforce() (called by the publisher
//    after every wake-up) deletes the oldest outbox entries beyond the bound. The
//    alerts stay in the alert store (vigil log, retention); every drop is counted.
//  - The time spent blocked is counted (from the first refusal to the next yes).
// Failure: an outbox that cannot be read counts as empty (never blocks forever on
// a storage error; the error is reported by the readers that hit it).
// Thread rules: every method may be called from any thread.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

#include "daemon/config.h"

namespace vigil {

class EventLog;

class OutboxLimit {
public:
    OutboxLimit(EventLog& log, uint64_t max_outbox, OutboxFullPolicy policy);

    // For the engine workers, before reading more of the log: true when they may go
    // on. With block and a full outbox it waits up to `wait` for drained() and
    // returns whether there is room now. `in_flight`: alerts the caller is
    // committing to the outbox, counted as if already there.
    bool admit(std::chrono::milliseconds wait, uint64_t in_flight = 0);
    // For the publisher after it deleted entries: wakes workers waiting in admit().
    void drained();
    // drop_oldest: deletes the oldest entries beyond the bound, skipping those
    // `in_flight` says were already handed to the broker (their PUBACK is on its
    // way); returns how many it deleted. With block it does nothing.
    uint64_t enforce(const std::function<bool(uint64_t seq)>& in_flight = {});

    uint64_t max() const { return max_; }
    OutboxFullPolicy policy() const { return policy_; }
    uint64_t depth() const;
    uint64_t dropped() const;
    bool blocked() const;
    // Total time the workers were held back, an ongoing block included.
    double blocked_seconds() const;

private:
    using Clock = std::chrono::steady_clock;
    void set_blocked(bool blocked);  // mu_ held

    EventLog& log_;
    const uint64_t max_;
    const OutboxFullPolicy policy_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool blocked_ = false;
    Clock::time_point blocked_since_{};
    Clock::duration blocked_total_{};
    uint64_t dropped_ = 0;
    uint64_t generation_ = 0;  // bumped by drained()
};

}  // namespace vigil
