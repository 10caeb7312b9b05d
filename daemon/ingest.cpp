#include "daemon/ingest.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "storage/log.h"

namespace vigil {

namespace {
int64_t wall_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
}  // namespace

uint64_t Ingest::rejected_total() const {
    uint64_t n = 0;
    for (const auto& r : rejected_) n += r.load();
    return n;
}

void Ingest::on_message(const StreamSpec& stream, std::string_view topic, std::string_view payload) {
    Event ev;
    std::string detail;
    RejectReason why = extract_event(stream, topic, payload, wall_ms(), ev, &detail);
    if (why != RejectReason::None) {
        ++rejected_[static_cast<size_t>(why)];
        uint64_t held = 0;
        if (reject_log_.allow(held)) {
            spdlog::warn("ingest: rejected event on {} (stream {}): {}: {}{}", topic, stream.name,
                         reject_reason_name(why), detail,
                         held ? " (" + std::to_string(held) + " similar messages suppressed)" : std::string());
        }
        return;
    }
    AppendRequest req;
    req.event_time = ev.time;
    req.ingest_time = ev.ingest_time;
    req.stream = stream.name;
    req.key = std::move(ev.key);
    req.topic = std::string(topic);
    req.payload.assign(payload);
    int backoff_ms = 50;
    for (;;) {
        AppendResult r = log_.append(req).get();
        if (r.ok) {
            ++accepted_;
            return;
        }
        ++store_errors_;
        uint64_t held = 0;
        if (store_log_.allow(held)) spdlog::error("ingest: cannot store event from {}: {}; retrying", topic, r.error);
        if (stopping_) {
            spdlog::critical("ingest: shutting down with an event that could not be stored; exiting without "
                             "acknowledging it so that the broker redelivers it");
            spdlog::shutdown();
            std::_Exit(75);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
        backoff_ms = std::min(backoff_ms * 2, 2000);
    }
}

}  // namespace vigil
