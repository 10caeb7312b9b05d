#pragma once
// Recycles Event objects on a hot read path (replay, the engine worker), so an
// event's allocations (the Event, its strings, its parsed document's buffers) are
// made once and reused: filling a recycled Event overwrites it in place and keeps
// the capacity of its buffers.
//
// Guarantees: acquire() hands out an Event that nobody else references: either a
// new one, or one of the last N it handed out whose every other reference (engine
// reorder buffer, partial match, alert) is gone. An event that is still held is
// never touched; the pool just forgets it and it is freed as usual. At most N
// idle events stay allocated.
// Thread rules: one pool per thread; the events it hands out may be released on
// any thread (the acquire fence pairs with shared_ptr's release on decrement).
#include <atomic>
#include <memory>
#include <vector>

#include "rules/event.h"

namespace vigil {

class EventPool {
public:
    explicit EventPool(size_t size = 256) : ring_(size) {}

    std::shared_ptr<Event> acquire() {
        std::shared_ptr<Event>& p = ring_[next_];
        next_ = next_ + 1 == ring_.size() ? 0 : next_ + 1;
        if (p && p.use_count() == 1) {
            std::atomic_thread_fence(std::memory_order_acquire);
            return p;
        }
        p = std::make_shared<Event>();
        return p;
    }

private:
    std::vector<std::shared_ptr<Event>> ring_;
    size_t next_ = 0;
};

}  // namespace vigil
