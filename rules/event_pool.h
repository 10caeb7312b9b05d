#pragma once
// Recycles Event objects on a hot read path (replay, the engine worker), so an
// event's allocations (the Event, its strings, its parsed document's buffers) are
// made once and reused: filling a recycled Event overwrites it in place and keeps
// the capacity of its buffers.
//
// The pool is a ring of the last `ring` events it handed out: an event whose turn
// comes again is reused when nobody holds it any more (its memory is still warm).
// One still held (engine reorder buffer, partial match, alert) is parked instead:
// the parked events take turns, one each time the ring needs a replacement, so an
// event a rule held for a while (a pattern waiting over 10k keys holds one or two
// per key) is reused once released, instead of its ~0.6 KB in three heap blocks
// being freed cold and allocated again, which cost more than the engine itself
// (bench_pattern). A parked event held at its first turn gets a second (the
// parked list grows, up to max_parked); held at its second it is forgotten (freed
// as usual when released).
//
// Guarantees: acquire() hands out an Event that nobody else references: either a
// new one, or one it handed out before whose every other reference is gone. An
// event that is still held is never touched. At most ring + max_parked events
// (held or idle, each with the buffer capacity of the largest event it carried)
// stay allocated.
// Thread rules: one pool per thread; the events it hands out may be released on
// any thread (the acquire fence pairs with shared_ptr's release on decrement).
#include <atomic>
#include <deque>
#include <memory>
#include <vector>

#include "rules/event.h"

namespace vigil {

class EventPool {
public:
    // max_parked 65536: room for a pattern over 10k+ keys that holds two or three
    // events per key (bench_pattern: 16384 left a third of its events to malloc/free,
    // cold, and ran 20% slower). Parked events keep their buffers (~0.6 KB with an
    // 80-byte payload, ~1 KB with 200 bytes), so after a peak of that many held events
    // up to ~64 MB stays with the pool, as malloc would mostly have kept it.
    explicit EventPool(size_t ring = 256, size_t max_parked = 65536) : ring_(ring ? ring : 1), max_(max_parked) {}

    std::shared_ptr<Event> acquire() {
        std::shared_ptr<Event>& p = ring_[next_];
        next_ = next_ + 1 == ring_.size() ? 0 : next_ + 1;
        if (p && p.use_count() == 1) {
            std::atomic_thread_fence(std::memory_order_acquire);
            return p;
        }
        if (p && parked_.size() < max_) parked_.push_back(Parked{std::move(p), false});
        p = from_parked();
        return p;
    }

    // Events the pool keeps (held or idle).
    size_t size() const {
        size_t n = parked_.size();
        for (const auto& p : ring_) n += p != nullptr;
        return n;
    }

private:
    struct Parked {
        std::shared_ptr<Event> ev;
        bool waited;  // was held at its last turn
    };
    // The parked event whose turn it is when released, else a new one. Held at its
    // first turn, it gets a second; held at its second, it is forgotten.
    std::shared_ptr<Event> from_parked() {
        if (!parked_.empty()) {
            Parked turn = std::move(parked_.front());
            parked_.pop_front();
            if (turn.ev.use_count() == 1) {
                std::atomic_thread_fence(std::memory_order_acquire);
                return std::move(turn.ev);
            }
            if (!turn.waited) parked_.push_back(Parked{std::move(turn.ev), true});
        }
        return std::make_shared<Event>();
    }

    std::vector<std::shared_ptr<Event>> ring_;
    size_t next_ = 0;
    std::deque<Parked> parked_;  // in turn order
    size_t max_;
};

}  // namespace vigil
