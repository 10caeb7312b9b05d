#include "plugins/mqtt_client.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>

namespace vigil {

void mqtt_library_init() {
    static std::once_flag once;
    std::call_once(once, [] { mosquitto_lib_init(); });
}

struct MqttClientCallbacks {
    static void on_connect(mosquitto* m, void* obj, int rc, int /*flags*/, const mosquitto_property* /*props*/) {
        auto* self = static_cast<MqttClient*>(obj);
        if (rc != 0) {
            spdlog::warn("mqtt {}: connection refused: {}", self->options_.client_id,
                         self->options_.protocol == 5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
            return;
        }
        // Subscribing again after a session resume is harmless and covers a broker
        // that lost the session.
        self->pending_subs_.clear();
        self->refused_subs_.clear();
        for (const auto& s : self->subscriptions_) {
            int mid = 0;
            int src = mosquitto_subscribe_v5(m, &mid, s.filter.c_str(), s.qos, 0, nullptr);
            if (src != MOSQ_ERR_SUCCESS) {
                spdlog::error("mqtt {}: subscribe {} failed: {}", self->options_.client_id, s.filter,
                              mosquitto_strerror(src));
                self->refused_subs_.push_back(s.filter);
            } else {
                self->pending_subs_.emplace_back(mid, s.filter);
            }
        }
        // Nothing to wait for (no subscriptions, or every subscribe call failed): say so now.
        if (self->pending_subs_.empty() && self->callbacks_.on_subscribed)
            self->callbacks_.on_subscribed(self->refused_subs_);
        {
            std::lock_guard lk(self->mu_);
            self->connected_ = true;
        }
        self->cv_.notify_all();
        if (self->callbacks_.on_connection) self->callbacks_.on_connection(true);
    }
    // SUBACK (network thread, after on_connect): once every subscription of this
    // connect is acknowledged, on_subscribed says so; a granted QoS >= 0x80 is a refusal.
    static void on_subscribe(mosquitto*, void* obj, int mid, int count, const int* granted, const mosquitto_property*) {
        auto* self = static_cast<MqttClient*>(obj);
        auto& pending = self->pending_subs_;
        auto it = std::find_if(pending.begin(), pending.end(), [&](const auto& p) { return p.first == mid; });
        if (it == pending.end()) return;
        if (count > 0 && granted[0] >= 0x80) {
            spdlog::error("mqtt {}: the broker refused the subscription to {} (reason {})", self->options_.client_id,
                          it->second, granted[0]);
            self->refused_subs_.push_back(it->second);
        }
        pending.erase(it);
        if (pending.empty() && self->callbacks_.on_subscribed) self->callbacks_.on_subscribed(self->refused_subs_);
    }
    static void on_message(mosquitto*, void* obj, const mosquitto_message* msg, const mosquitto_property*) {
        auto* self = static_cast<MqttClient*>(obj);
        if (!self->callbacks_.on_message) return;
        std::string_view payload(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
        // libmosquitto does not expose the DUP flag; a redelivery is seen as a duplicate downstream.
        self->callbacks_.on_message(msg->topic, payload, false);
    }
    // libmosquitto's own errors, among them the TLS handshake's OpenSSL reasons
    // ("certificate verify failed"); bounded by the reconnect backoff.
    static void on_log(mosquitto*, void* obj, int level, const char* str) {
        if (level != MOSQ_LOG_ERR || !str) return;
        spdlog::warn("mqtt {}: {}", static_cast<MqttClient*>(obj)->options_.client_id, str);
    }
    static void on_publish(mosquitto*, void* obj, int mid, int /*reason*/, const mosquitto_property*) {
        auto* self = static_cast<MqttClient*>(obj);
        if (self->callbacks_.on_published) self->callbacks_.on_published(mid);
    }
};

MqttClient::MqttClient(MqttOptions options, std::vector<MqttSubscription> subscriptions, Callbacks callbacks)
    : options_(std::move(options)), subscriptions_(std::move(subscriptions)), callbacks_(std::move(callbacks)) {}

MqttClient::~MqttClient() {
    stop();
    if (mosq_) mosquitto_destroy(mosq_);
}

bool MqttClient::start(std::string* error) {
    mqtt_library_init();
    mosq_ = mosquitto_new(options_.client_id.c_str(), options_.clean_session, this);
    if (!mosq_) {
        if (error) *error = "mosquitto_new failed for client id \"" + options_.client_id + "\"";
        return false;
    }
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION,
                         options_.protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_int_option(mosq_, MOSQ_OPT_RECEIVE_MAXIMUM, options_.receive_maximum);
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    // Our own network thread (below): threaded mode, so PUBACKs are written only
    // after on_message returns.
    mosquitto_threaded_set(mosq_, true);
    if (!options_.username.empty()) {
        int rc = mosquitto_username_pw_set(mosq_, options_.username.c_str(),
                                           options_.password.empty() ? nullptr : options_.password.c_str());
        if (rc != MOSQ_ERR_SUCCESS) {
            if (error) *error = std::string("mqtt username/password: ") + mosquitto_strerror(rc);
            return false;
        }
    }
    if (!options_.ca_file.empty()) {
        int rc = mosquitto_tls_set(mosq_, options_.ca_file.c_str(), nullptr,
                                   options_.cert_file.empty() ? nullptr : options_.cert_file.c_str(),
                                   options_.key_file.empty() ? nullptr : options_.key_file.c_str(), nullptr);
        if (rc != MOSQ_ERR_SUCCESS) {
            if (error) *error = std::string("mqtt tls: ") + mosquitto_strerror(rc);
            return false;
        }
    }
    mosquitto_connect_v5_callback_set(mosq_, &MqttClientCallbacks::on_connect);
    mosquitto_message_v5_callback_set(mosq_, &MqttClientCallbacks::on_message);
    mosquitto_subscribe_v5_callback_set(mosq_, &MqttClientCallbacks::on_subscribe);
    mosquitto_publish_v5_callback_set(mosq_, &MqttClientCallbacks::on_publish);
    mosquitto_log_callback_set(mosq_, &MqttClientCallbacks::on_log);
    running_ = true;
    thread_ = std::thread([this] { run(); });
    return true;
}

void MqttClient::stop() {
    if (!running_.exchange(false)) return;
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

namespace {
// libmosquitto sets up OpenSSL's UI method on the process's first TLS connect without a
// lock (net__init_tls): two clients making their first TLS connect at once (ingest and
// the alert publisher) each create one, and one leaks. TLS connects therefore run one
// at a time until one has succeeded; after that they do not wait for each other.
std::mutex g_first_tls_connect;
std::atomic<bool> g_tls_set_up{false};
}  // namespace

bool MqttClient::connect_once() {
    std::unique_lock<std::mutex> first_tls;
    if (!options_.ca_file.empty() && !g_tls_set_up.load(std::memory_order_acquire))
        first_tls = std::unique_lock<std::mutex>(g_first_tls_connect);
    mosquitto_property* props = nullptr;
    if (options_.protocol == 5 && !options_.clean_session && options_.session_expiry_s > 0) {
        auto expiry = static_cast<uint32_t>(std::min<int64_t>(options_.session_expiry_s, UINT32_MAX));
        mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, expiry);
    }
    int rc = mosquitto_connect_bind_v5(mosq_, options_.host.c_str(), options_.port, options_.keepalive_s, nullptr,
                                       props);
    mosquitto_property_free_all(&props);
    if (first_tls.owns_lock() && rc == MOSQ_ERR_SUCCESS) g_tls_set_up.store(true, std::memory_order_release);
    if (rc != MOSQ_ERR_SUCCESS) {
        spdlog::warn("mqtt {}: cannot connect to {}:{}: {}", options_.client_id, options_.host, options_.port,
                     rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
        return false;
    }
    return true;
}

namespace {
// Equal jitter: between half the backoff and all of it, so that many clients
// cut off by the same broker restart do not all come back in the same instant.
int jittered(int backoff_ms) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    int half = backoff_ms / 2;
    return half + static_cast<int>(rng() % static_cast<unsigned>(backoff_ms - half + 1));
}
}  // namespace

void MqttClient::run() {
    int backoff = options_.backoff_min_ms;
    bool first = true;
    while (running_) {
        if (!first) ++reconnects_;
        first = false;
        if (!connect_once()) {
            std::unique_lock lk(mu_);
            cv_.wait_for(lk, std::chrono::milliseconds(jittered(backoff)), [this] { return !running_.load(); });
            backoff = std::min(backoff * 2, options_.backoff_max_ms);
            continue;
        }
        int rc = MOSQ_ERR_SUCCESS;
        while (running_) {
            rc = mosquitto_loop(mosq_, 100, 1);
            if (rc != MOSQ_ERR_SUCCESS) break;
            if (connected_) backoff = options_.backoff_min_ms;
        }
        bool was_connected = connected_.exchange(false);
        if (was_connected && callbacks_.on_connection) callbacks_.on_connection(false);
        if (!running_) {
            mosquitto_disconnect(mosq_);
            // Flush the DISCONNECT.
            for (int i = 0; i < 5 && mosquitto_loop(mosq_, 10, 1) == MOSQ_ERR_SUCCESS; ++i) {
            }
            break;
        }
        int wait_ms = jittered(backoff);
        spdlog::warn("mqtt {}: connection lost ({}); reconnecting in {} ms", options_.client_id,
                     mosquitto_strerror(rc), wait_ms);
        std::unique_lock lk(mu_);
        cv_.wait_for(lk, std::chrono::milliseconds(wait_ms), [this] { return !running_.load(); });
        backoff = std::min(backoff * 2, options_.backoff_max_ms);
    }
}

bool MqttClient::publish(std::string_view topic, std::string_view payload, int qos, int* mid) {
    if (!connected_) return false;
    std::string t(topic);
    int rc = mosquitto_publish_v5(mosq_, mid, t.c_str(), static_cast<int>(payload.size()), payload.data(), qos,
                                  false, nullptr);
    return rc == MOSQ_ERR_SUCCESS;
}

bool MqttClient::wait_connected(int timeout_ms) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [this] { return connected_.load(); });
}

}  // namespace vigil
