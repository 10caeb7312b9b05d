#pragma once
// Logging at a bounded rate per error class: bad input must never flood the log.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace vigil {

// Allows `burst` messages per `period`; counts what it suppressed so the next
// message that goes out can say how many were dropped.
class RateLimit {
public:
    explicit RateLimit(uint32_t burst = 5, std::chrono::milliseconds period = std::chrono::seconds(10))
        : burst_(burst), period_(period) {}

    // True when a message may be written now; `suppressed` gets the number held back since the last one.
    bool allow(uint64_t& suppressed) {
        std::lock_guard lk(mu_);
        auto now = std::chrono::steady_clock::now();
        if (now - window_start_ >= period_) {
            window_start_ = now;
            used_ = 0;
        }
        if (used_ < burst_) {
            ++used_;
            suppressed = suppressed_;
            suppressed_ = 0;
            return true;
        }
        ++suppressed_;
        return false;
    }

private:
    uint32_t burst_;
    std::chrono::milliseconds period_;
    std::mutex mu_;
    std::chrono::steady_clock::time_point window_start_{};
    uint32_t used_ = 0;
    uint64_t suppressed_ = 0;
};

}  // namespace vigil
