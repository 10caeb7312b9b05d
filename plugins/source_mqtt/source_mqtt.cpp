#include "plugins/source_mqtt/source_mqtt.h"

#include <spdlog/spdlog.h>

namespace vigil {

namespace {

class SourceMqtt : public Source {
public:
    explicit SourceMqtt(const SourceContext& ctx) : ctx_(ctx) {}

    bool start(std::string* error) override {
        int n = std::max(1, ctx_.connections);
        for (int i = 0; i < n; ++i) {
            MqttOptions opt = ctx_.mqtt;
            if (n > 1) opt.client_id += "-" + std::to_string(i + 1);
            std::vector<MqttSubscription> subs;
            for (const auto& s : ctx_.streams) {
                for (const auto& t : s.topics) {
                    bool shared = t.rfind("$share/", 0) == 0;
                    std::string filter = (n > 1 && !shared) ? "$share/" + ctx_.share_group + "/" + t : t;
                    subs.push_back({filter, s.qos});
                }
            }
            MqttClient::Callbacks cb;
            cb.on_message = [this](std::string_view topic, std::string_view payload, bool) { route(topic, payload); };
            // An operator (and a test) can tell when events published now are routed to the log.
            cb.on_subscribed = [id = opt.client_id, count = subs.size()](const std::vector<std::string>& refused) {
                spdlog::info("ingest: subscribed ({}: {} topic filter(s){})", id, count - refused.size(),
                             refused.empty() ? "" : ", " + std::to_string(refused.size()) + " refused");
            };
            auto client = std::make_unique<MqttClient>(std::move(opt), std::move(subs), std::move(cb));
            if (!client->start(error)) return false;
            clients_.push_back(std::move(client));
        }
        return true;
    }

    void stop() override {
        for (auto& c : clients_) c->stop();
    }

    bool connected() const override {
        for (const auto& c : clients_)
            if (!c->connected()) return false;
        return !clients_.empty();
    }

    uint64_t reconnects() const override {
        uint64_t n = 0;
        for (const auto& c : clients_) n += c->reconnects();
        return n;
    }

private:
    void route(std::string_view topic, std::string_view payload) {
        for (const auto& s : ctx_.streams) {
            for (const auto& f : s.topics) {
                if (topic_matches(f, topic)) {
                    ctx_.ingest(s, topic, payload);
                    return;
                }
            }
        }
        spdlog::warn("source_mqtt: message on {} matches no stream; dropped", topic);
    }

    SourceContext ctx_;
    std::vector<std::unique_ptr<MqttClient>> clients_;
};

}  // namespace

std::unique_ptr<Source> make_source_mqtt(const SourceContext& ctx) { return std::make_unique<SourceMqtt>(ctx); }

}  // namespace vigil
