#include "daemon/publisher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "daemon/outbox_limit.h"
#include "daemon/rate_limit.h"
#include "storage/log.h"

namespace vigil {

using std::chrono::milliseconds;

Publisher::Publisher(EventLog& log, const SinkPlugin& plugin, SinkContext ctx, OutboxLimit* limit,
                     PublisherOptions options)
    : log_(log), limit_(limit), options_(options) {
    if (options_.max_in_flight == 0) options_.max_in_flight = 1;
    ctx.delivered = [this](uint64_t seq) { on_delivered(seq); };
    ctx.mqtt.backoff_min_ms = options_.backoff_min_ms;
    ctx.mqtt.backoff_max_ms = options_.backoff_max_ms;
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

uint64_t Publisher::reconnects() const {
    uint64_t s = sink_ ? sink_->sessions() : 0;
    return s > 1 ? s - 1 : 0;
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

void Publisher::wait_woken(milliseconds timeout) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, timeout, [this] { return woken_ || stop_.load(); });
    woken_ = false;
}

void Publisher::flush_delivered() {
    std::vector<uint64_t> done;
    {
        std::lock_guard lk(mu_);
        done.swap(done_);
    }
    if (done.empty()) return;
    Status st = log_.outbox_delete(done).get();
    if (!st.ok) {
        static RateLimit limit;
        uint64_t held = 0;
        if (limit.allow(held)) spdlog::error("publisher: cannot delete delivered alerts from the outbox: {}", st.error);
        std::lock_guard lk(mu_);
        done_.insert(done_.end(), done.begin(), done.end());  // tried again at the next wake-up
        return;
    }
    if (limit_) limit_->drained();
}

void Publisher::reset_window() {
    std::lock_guard lk(mu_);
    in_flight_.clear();
    sent_upto_ = 0;
    caught_up_ = 0;
}

bool Publisher::send_some() {
    size_t room = 0;
    {
        std::lock_guard lk(mu_);
        room = options_.max_in_flight - std::min<size_t>(in_flight_.size(), options_.max_in_flight);
    }
    if (room == 0) return true;
    uint64_t last = log_.outbox_last_seq();  // read before the scan: the scan sees at least this
    std::vector<OutboxEntry> batch;
    if (Status st = log_.outbox_scan(sent_upto_, room, batch); !st.ok) {
        static RateLimit limit;
        uint64_t held = 0;
        if (limit.allow(held)) spdlog::error("publisher: cannot read the outbox: {}", st.error);
        return false;
    }
    for (const auto& e : batch) {
        {
            std::lock_guard lk(mu_);
            in_flight_.insert(e.seq);
        }
        if (!sink_->send({e.seq, e.topic, e.qos, e.json})) {
            {
                std::lock_guard lk(mu_);
                in_flight_.erase(e.seq);
            }
            ++failures_;
            static RateLimit limit;
            uint64_t held = 0;
            if (limit.allow(held))
                spdlog::warn("publisher: the sink refused alert {} (topic {}); it stays in the outbox", e.seq,
                             e.topic);
            return false;
        }
        sent_upto_ = e.seq;
        ++sent_;
    }
    caught_up_ = batch.size() < room ? std::max(last, sent_upto_) : sent_upto_;
    return true;
}

void Publisher::run() {
    bool was_connected = false;
    uint64_t session = sink_->sessions();
    while (!stop_) {
        flush_delivered();
        if (limit_)
            limit_->enforce([this](uint64_t seq) {
                std::lock_guard lk(mu_);
                return in_flight_.count(seq) > 0;
            });
        bool connected = sink_->connected();
        uint64_t s = sink_->sessions();
        if (!connected || s != session) {
            // What was in flight is never confirmed now: send it again from the oldest.
            if (was_connected)
                spdlog::warn("publisher: sink disconnected; {} alert(s) stay in the outbox until it is back",
                             log_.outbox_size());
            reset_window();
            was_connected = false;
            session = s;
        }
        if (!connected) {
            wait_woken(milliseconds(100));
            continue;
        }
        if (!was_connected) {
            was_connected = true;
            if (uint64_t n = log_.outbox_size())
                spdlog::info("publisher: sink connected; publishing {} alert(s) from the outbox", n);
        }
        bool refused = !send_some();
        size_t in_flight = 0;
        bool confirmed = false;
        {
            std::lock_guard lk(mu_);
            in_flight = in_flight_.size();
            confirmed = !done_.empty();
        }
        if (confirmed) continue;
        if (refused)
            wait_woken(milliseconds(100));
        else if (in_flight >= options_.max_in_flight)
            wait_woken(milliseconds(50));  // a confirmation makes room
        else  // new alerts wake us; confirmations are collected every few ms
            log_.wait_for_outbox(caught_up_, milliseconds(in_flight > 0 ? 5 : 200));
    }
    flush_delivered();
}

void Publisher::stop(int drain_ms) {
    if (!thread_.joinable()) return;
    auto deadline = std::chrono::steady_clock::now() + milliseconds(drain_ms);
    while (std::chrono::steady_clock::now() < deadline && sink_->connected() && log_.outbox_size() > 0) {
        notify();
        std::this_thread::sleep_for(milliseconds(20));
    }
    stop_ = true;
    notify();
    thread_.join();
    sink_->stop();
}

}  // namespace vigil
