#pragma once
// The publisher: outbox -> sink, deleting each alert from the outbox once the sink
// reports it delivered (for MQTT QoS 1: on PUBACK).
//
// While the sink is disconnected the alerts stay in the outbox; after a reconnect
// everything not yet delivered is sent again, so a consumer can see an alert twice
// but always with the same id. Thread rules: one thread of its own.
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

class Publisher {
public:
    Publisher(EventLog& log, const SinkPlugin& plugin, SinkContext ctx);
    ~Publisher();
    bool start(std::string* error);
    // Tries to deliver what is in the outbox for up to `drain_ms`, then stops.
    void stop(int drain_ms);
    // Wakes the thread: new alerts were committed.
    void notify();

    uint64_t sent() const { return sent_.load(); }
    uint64_t delivered() const { return delivered_.load(); }
    bool connected() const { return sink_ && sink_->connected(); }

private:
    void run();
    void on_delivered(uint64_t seq);
    bool outbox_empty() const;

    EventLog& log_;
    std::unique_ptr<Sink> sink_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    std::set<uint64_t> in_flight_;
    std::vector<uint64_t> done_;
    bool woken_ = false;
    std::atomic<uint64_t> sent_{0};
    std::atomic<uint64_t> delivered_{0};
};

}  // namespace vigil
