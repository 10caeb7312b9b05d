#include "plugins/sink_mqtt/sink_mqtt.h"

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace vigil {

namespace {

class SinkMqtt : public Sink {
public:
    explicit SinkMqtt(const SinkContext& ctx) : ctx_(ctx) {}

    bool start(std::string* error) override {
        MqttOptions opt = ctx_.mqtt;
        opt.client_id += "-pub";
        opt.clean_session = true;
        MqttClient::Callbacks cb;
        cb.on_published = [this](int mid) { acked(mid); };
        cb.on_connection = [this](bool up) {
            if (up) ++sessions_;
            if (!up) {
                std::lock_guard lk(mu_);
                in_flight_.clear();
            }
        };
        client_ = std::make_unique<MqttClient>(std::move(opt), std::vector<MqttSubscription>{}, std::move(cb));
        return client_->start(error);
    }

    void stop() override {
        if (client_) client_->stop();
    }

    bool send(const OutgoingAlert& a) override {
        if (!client_ || !client_->connected()) return false;
        // Hold the lock across publish so a fast PUBACK cannot arrive before the
        // mid is recorded.
        std::unique_lock lk(mu_);
        int mid = 0;
        if (!client_->publish(a.topic, a.json, a.qos, &mid)) return false;
        if (a.qos == 0) {
            lk.unlock();
            ctx_.delivered(a.seq);
            return true;
        }
        in_flight_[mid] = a.seq;
        return true;
    }

    bool connected() const override { return client_ && client_->connected(); }

    uint64_t sessions() const override { return sessions_.load(); }

    size_t in_flight() const override {
        std::lock_guard lk(mu_);
        return in_flight_.size();
    }

private:
    void acked(int mid) {
        uint64_t seq = 0;
        {
            std::lock_guard lk(mu_);
            auto it = in_flight_.find(mid);
            if (it == in_flight_.end()) return;
            seq = it->second;
            in_flight_.erase(it);
        }
        ctx_.delivered(seq);
    }

    SinkContext ctx_;
    std::unique_ptr<MqttClient> client_;
    mutable std::mutex mu_;
    std::unordered_map<int, uint64_t> in_flight_;
    std::atomic<uint64_t> sessions_{0};
};

}  // namespace

std::unique_ptr<Sink> make_sink_mqtt(const SinkContext& ctx) { return std::make_unique<SinkMqtt>(ctx); }

}  // namespace vigil
