#pragma once
// The publisher: outbox -> sink (MQTT), at each alert's QoS.
//
// Guarantees
//  - In order: alerts are handed to the sink in outbox order (sequence order),
//    at most `max_in_flight` unconfirmed at a time.
//  - An alert leaves the outbox only once the sink reports it delivered: for QoS 1
//    on PUBACK, for QoS 0 once it is handed to the connection.
//  - While the sink is disconnected the alerts stay in the outbox; after a
//    reconnect everything still there is sent again from the oldest, so a
//    consumer can see an alert twice, always with the same id. The MQTT sink
//    reconnects with exponential backoff and jitter (backoff_min_ms doubling to
//    backoff_max_ms).
//  - Woken by new outbox entries (EventLog::wait_for_outbox); confirmations are
//    collected within 5 ms (at once while the in-flight window is full); with
//    nothing in flight and nothing new it checks in every 200 ms.
//  - With an OutboxLimit it applies alerts.on_full after every wake-up
//    (drop_oldest) and wakes blocked engine workers after every delete.
// Failure: a refused send or a storage error is logged at a bounded rate,
// counted, and retried; nothing is dropped except by drop_oldest.
// Thread rules: one thread of its own; the accessors may be called from any thread.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "plugins/plugin.h"

namespace vigil {

class EventLog;
class OutboxLimit;

struct PublisherOptions {
    uint32_t max_in_flight = 1000;  // alerts handed to the sink and not yet confirmed
    int backoff_min_ms = 100;       // reconnect backoff of the MQTT sink
    int backoff_max_ms = 10000;
};

class Publisher {
public:
    Publisher(EventLog& log, const SinkPlugin& plugin, SinkContext ctx, OutboxLimit* limit = nullptr,
              PublisherOptions options = {});
    ~Publisher();
    bool start(std::string* error);
    // Tries to deliver what is in the outbox for up to `drain_ms`, then stops.
    void stop(int drain_ms);
    // Wakes the thread at once (new alerts are noticed on their own).
    void notify();

    uint64_t sent() const { return sent_.load(); }
    uint64_t delivered() const { return delivered_.load(); }
    uint64_t send_failures() const { return failures_.load(); }
    // Connections after the first (0 while the first one holds).
    uint64_t reconnects() const;
    bool connected() const { return sink_ && sink_->connected(); }
    const OutboxLimit* limit() const { return limit_; }

private:
    void run();
    void on_delivered(uint64_t seq);
    void flush_delivered();
    // Hands alerts after sent_upto_ to the sink; false when it refused one.
    bool send_some();
    void reset_window();
    void wait_woken(std::chrono::milliseconds timeout);

    EventLog& log_;
    OutboxLimit* limit_;
    PublisherOptions options_;
    std::unique_ptr<Sink> sink_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    std::set<uint64_t> in_flight_;  // mu_
    std::vector<uint64_t> done_;    // mu_: confirmed, to delete from the outbox
    bool woken_ = false;            // mu_
    uint64_t sent_upto_ = 0;        // publisher thread: the last sequence handed to the sink
    uint64_t caught_up_ = 0;        // publisher thread: every entry up to here was handed over
    std::atomic<uint64_t> sent_{0};
    std::atomic<uint64_t> delivered_{0};
    std::atomic<uint64_t> failures_{0};
    std::atomic<uint64_t> sessions_seen_{0};
};

}  // namespace vigil
