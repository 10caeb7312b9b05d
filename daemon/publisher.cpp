#include "daemon/publisher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "storage/log.h"

namespace vigil {

Publisher::Publisher(EventLog& log, const SinkPlugin& plugin, SinkContext ctx) : log_(log) {
    ctx.delivered = [this](uint64_t seq) { on_delivered(seq); };
    sink_ = plugin.create(ctx);
}

Publisher::~Publisher() { stop(0); }

bool Publisher::start(std::string* error) {
    if (!sink_->start(error)) return false;
    thread_ = std::thread([this] { run(); });
    return true;
}

void Publisher::notify() {
    {
        std::lock_guard lk(mu_);
        woken_ = true;
    }
    cv_.notify_all();
}

void Publisher::on_delivered(uint64_t seq) {
    {
        std::lock_guard lk(mu_);
        in_flight_.erase(seq);
        done_.push_back(seq);
        woken_ = true;
    }
    ++delivered_;
    cv_.notify_all();
}

bool Publisher::outbox_empty() const {
    std::vector<OutboxEntry> one;
    log_.outbox_scan(0, 1, one);
    return one.empty();
}

void Publisher::stop(int drain_ms) {
    if (!thread_.joinable()) return;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms);
    while (std::chrono::steady_clock::now() < deadline && !outbox_empty()) {
        notify();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop_ = true;
    notify();
    thread_.join();
    sink_->stop();
}

void Publisher::run() {
    bool was_connected = false;
    while (!stop_) {
        std::vector<uint64_t> done;
        {
            std::unique_lock lk(mu_);
            cv_.wait_for(lk, std::chrono::milliseconds(200), [this] { return woken_ || stop_.load(); });
            woken_ = false;
            done.swap(done_);
        }
        if (!done.empty()) {
            Status st = log_.outbox_delete(std::move(done)).get();
            if (!st.ok) spdlog::error("publisher: cannot delete delivered alerts from the outbox: {}", st.error);
        }
        bool connected = sink_->connected();
        if (!connected) {
            if (was_connected) spdlog::warn("publisher: sink disconnected; alerts stay in the outbox");
            was_connected = false;
            std::lock_guard lk(mu_);
            in_flight_.clear();  // resent after the reconnect
            continue;
        }
        was_connected = true;
        std::vector<OutboxEntry> batch;
        Status st = log_.outbox_scan(0, 1024, batch);
        if (!st.ok) {
            spdlog::error("publisher: cannot read the outbox: {}", st.error);
            continue;
        }
        for (const auto& e : batch) {
            {
                std::lock_guard lk(mu_);
                if (in_flight_.count(e.seq)) continue;
                if (std::find(done_.begin(), done_.end(), e.seq) != done_.end()) continue;
                in_flight_.insert(e.seq);
            }
            if (!sink_->send({e.seq, e.topic, e.qos, e.json})) {
                std::lock_guard lk(mu_);
                in_flight_.erase(e.seq);
                break;
            }
            ++sent_;
        }
    }
}

}  // namespace vigil
