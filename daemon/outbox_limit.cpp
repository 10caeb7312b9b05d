#include "daemon/outbox_limit.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "daemon/rate_limit.h"
#include "storage/log.h"

namespace vigil {

OutboxLimit::OutboxLimit(EventLog& log, uint64_t max_outbox, OutboxFullPolicy policy)
    : log_(log), max_(max_outbox == 0 ? 1 : max_outbox), policy_(policy) {}

uint64_t OutboxLimit::depth() const { return log_.outbox_size(); }

void OutboxLimit::set_blocked(bool blocked) {
    if (blocked == blocked_) return;
    blocked_ = blocked;
    static RateLimit limit;  // the bound can be hovered around: say so at a bounded rate
    uint64_t held = 0;
    bool say = limit.allow(held);
    if (blocked) {
        blocked_since_ = Clock::now();
        if (!say) return;
        spdlog::warn("alerts: the outbox holds alerts.max_outbox ({}) alerts; the rules pause until the publisher "
                     "drains it (events keep being stored)",
                     max_);
    } else {
        auto was = Clock::now() - blocked_since_;
        blocked_total_ += was;
        if (!say) return;
        spdlog::info("alerts: the outbox has room again; the rules resume after {} ms",
                     std::chrono::duration_cast<std::chrono::milliseconds>(was).count());
    }
}

bool OutboxLimit::admit(std::chrono::milliseconds wait, uint64_t in_flight) {
    if (policy_ != OutboxFullPolicy::Block) return true;
    std::unique_lock lk(mu_);
    // Taken before the depth is read: a drained() in between ends the wait at once.
    const uint64_t gen = generation_;
    lk.unlock();
    bool room = depth() + in_flight < max_;
    lk.lock();
    if (room || wait.count() <= 0) {
        set_blocked(!room);
        return room;
    }
    set_blocked(true);
    cv_.wait_for(lk, wait, [&] { return generation_ != gen; });
    lk.unlock();
    room = depth() + in_flight < max_;
    lk.lock();
    set_blocked(!room);
    return room;
}

void OutboxLimit::drained() {
    {
        std::lock_guard lk(mu_);
        ++generation_;
    }
    cv_.notify_all();
}

uint64_t OutboxLimit::enforce(const std::function<bool(uint64_t)>& in_flight) {
    if (policy_ != OutboxFullPolicy::DropOldest) return 0;
    uint64_t n = depth();
    if (n <= max_) return 0;
    uint64_t excess = n - max_;
    std::vector<uint64_t> seqs;
    std::vector<OutboxEntry> chunk;
    for (uint64_t after = 0; seqs.size() < excess;) {
        chunk.clear();
        if (Status st = log_.outbox_scan(after, std::min<uint64_t>(excess, 4096), chunk); !st.ok) {
            spdlog::error("alerts: cannot read the outbox to drop its oldest entries: {}", st.error);
            return 0;
        }
        if (chunk.empty()) break;
        for (const auto& e : chunk)
            if (seqs.size() < excess && !(in_flight && in_flight(e.seq))) seqs.push_back(e.seq);
        after = chunk.back().seq;
    }
    if (seqs.empty()) return 0;
    Status st = log_.outbox_delete(seqs).get();
    if (!st.ok) {
        spdlog::error("alerts: cannot drop the oldest outbox entries: {}", st.error);
        return 0;
    }
    static RateLimit limit;
    uint64_t held = 0;
    if (limit.allow(held))
        spdlog::warn("alerts: the outbox is full (alerts.max_outbox {}): dropped the {} oldest alert(s) from it "
                     "(they stay in the alert store)",
                     max_, seqs.size());
    std::lock_guard lk(mu_);
    dropped_ += seqs.size();
    return seqs.size();
}

uint64_t OutboxLimit::dropped() const {
    std::lock_guard lk(mu_);
    return dropped_;
}

bool OutboxLimit::blocked() const {
    std::lock_guard lk(mu_);
    return blocked_;
}

double OutboxLimit::blocked_seconds() const {
    std::lock_guard lk(mu_);
    Clock::duration total = blocked_total_;
    if (blocked_) total += Clock::now() - blocked_since_;
    return std::chrono::duration<double>(total).count();
}

}  // namespace vigil
