#pragma once
// One MQTT connection with its own network thread, used by source_mqtt (ingest)
// and sink_mqtt (alerts).
//
// Guarantees:
//  - Persistent session: a fixed client id, clean_session=false, and on MQTT 5 the
//    session-expiry property on EVERY connect, reconnects included (libmosquitto's
//    own reconnect does not resend CONNECT properties, so this class reconnects
//    itself with mosquitto_connect_bind_v5).
//  - Ack after the callback: the client runs in libmosquitto's threaded mode, where
//    a QoS 1 PUBACK is only queued while on_message runs and written after it
//    returns. So an on_message handler that returns after its event is committed
//    acknowledges only committed events (dependencies.md 2.4.1).
//  - Reconnects with exponential backoff (backoff_min_ms doubling to
//    backoff_max_ms; by default 1 s to 30 s) with equal jitter (each wait is
//    between half the backoff and all of it) until stop().
// Failure modes: connection errors are logged at a bounded rate and counted;
// publish() while disconnected returns false (the caller keeps the message).
// Thread rules: callbacks run on the connection's network thread; publish() may
// be called from any thread.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

struct mosquitto;

namespace vigil {

struct MqttOptions {
    std::string host = "127.0.0.1";
    int port = 1883;
    std::string client_id;
    bool clean_session = false;
    std::string username;
    std::string password;
    std::string ca_file, cert_file, key_file;
    int protocol = 5;  // 5 or 4 (3.1.1)
    int keepalive_s = 30;
    int64_t session_expiry_s = 7 * 86400;
    int receive_maximum = 100;
    int backoff_min_ms = 1000;
    int backoff_max_ms = 30000;
};

struct MqttSubscription {
    std::string filter;
    int qos = 1;
};

class MqttClient {
public:
    struct Callbacks {
        std::function<void(std::string_view topic, std::string_view payload, bool dup)> on_message;
        std::function<void(int mid)> on_published;  // PUBACK received for a QoS 1 publish
        std::function<void(bool connected)> on_connection;
        // The broker acknowledged every subscription of this connect (SUBACK): from
        // now on it routes their messages here. `refused` lists the filters it refused.
        std::function<void(const std::vector<std::string>& refused)> on_subscribed;
    };

    MqttClient(MqttOptions options, std::vector<MqttSubscription> subscriptions, Callbacks callbacks);
    ~MqttClient();
    MqttClient(const MqttClient&) = delete;
    MqttClient& operator=(const MqttClient&) = delete;

    // Starts the network thread; connecting happens there (and is retried).
    // Returns false with `error` only for configuration errors (TLS files, ...).
    bool start(std::string* error);
    // Disconnects cleanly and joins the network thread.
    void stop();

    // Publishes; returns false when not connected or libmosquitto refuses.
    bool publish(std::string_view topic, std::string_view payload, int qos, int* mid);

    bool connected() const { return connected_.load(); }
    uint64_t reconnects() const { return reconnects_.load(); }
    const std::string& client_id() const { return options_.client_id; }
    // Waits until connected (true) or the timeout passes (false).
    bool wait_connected(int timeout_ms);

private:
    friend struct MqttClientCallbacks;
    void run();
    bool connect_once();

    MqttOptions options_;
    std::vector<MqttSubscription> subscriptions_;
    Callbacks callbacks_;
    mosquitto* mosq_ = nullptr;
    std::thread thread_;
    std::atomic<bool> running_{false};
    std::atomic<bool> connected_{false};
    std::atomic<uint64_t> reconnects_{0};
    std::mutex mu_;
    std::condition_variable cv_;
    // Network thread only: the subscriptions of the current connect awaiting their SUBACK.
    std::vector<std::pair<int, std::string>> pending_subs_;  // mid, filter
    std::vector<std::string> refused_subs_;
};

// Calls mosquitto_lib_init once per process.
void mqtt_library_init();

}  // namespace vigil
