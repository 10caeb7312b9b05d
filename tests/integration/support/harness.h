#pragma once
// Integration-test support: temporary folders, a real mosquitto on an ephemeral
// loopback port, the real vigil binary as a child process, and MQTT test clients.
// Waits are bounded polls on a condition (a port accepting, a message count),
// never fixed sleeps.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "plugins/mqtt_client.h"

namespace vigil::test {

class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    void write(const std::string& name, const std::string& content) const;

private:
    std::string path_;
};

// A free TCP port on 127.0.0.1 (bound and released).
int free_port();
// Polls until 127.0.0.1:port accepts a connection or timeout_ms passes.
bool wait_port(int port, int timeout_ms);
std::string read_file(const std::string& path);
// How many times `what` occurs in `text`.
size_t count_of(const std::string& text, const std::string& what);
// The daemon's /metrics text from its admin API on 127.0.0.1:port ("" when it does not answer),
// and one sample's value there (-1 when absent).
std::string admin_metrics(int port);
double admin_metric(int port, const std::string& series);

class ChildProcess {
public:
    ChildProcess() = default;
    ~ChildProcess();
    // Starts argv[0] with argv; stdout and stderr go to the given files.
    bool start(const std::vector<std::string>& argv, const std::string& out_file, const std::string& err_file);
    void signal(int sig);
    // Waits for exit up to timeout_ms; returns the exit status (or -1 on timeout, 128+sig on a signal).
    int wait(int timeout_ms);
    bool running();
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    int status_ = -1;
};

class Broker {
public:
    // verbose: the broker logs every packet (PUBLISH, PUBACK, ...), for tests that
    // check the protocol exchange; off by default to keep logs small under load.
    explicit Broker(const TempDir& dir, bool verbose = false);
    ~Broker();
    // Keeps sessions (subscriptions, queued messages) across stop()/start() in a
    // file of the test folder, as a broker with persistence does. Set before start().
    void set_persistent(bool on) { persistent_ = on; }
    // Starts the broker; after stop() it comes back on the same port.
    bool start();
    void stop();
    int port() const { return port_; }
    std::string log() const;

private:
    const TempDir& dir_;
    int port_ = 0;
    bool verbose_ = false;
    bool persistent_ = false;
    ChildProcess proc_;
};

struct ReceivedMessage {
    std::string topic;
    std::string payload;
};

// A subscriber that records every message it receives.
class Collector {
public:
    Collector(int port, const std::string& filter, const std::string& client_id = "test-collector");
    ~Collector();
    bool connected(int timeout_ms = 5000) { return client_->wait_connected(timeout_ms); }
    // Waits until at least n messages arrived (true) or timeout_ms passes (false).
    bool wait_for(size_t n, int timeout_ms);
    std::vector<ReceivedMessage> messages() const;
    // The messages whose topic starts with topic_prefix ("vigil/alerts/rule/").
    std::vector<ReceivedMessage> messages(const std::string& topic_prefix) const;

private:
    std::unique_ptr<MqttClient> client_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<ReceivedMessage> messages_;
};

// A QoS 1 publisher that can wait for every PUBACK.
class Publisher {
public:
    explicit Publisher(int port, const std::string& client_id = "test-publisher");
    ~Publisher();
    bool connected(int timeout_ms = 5000) { return client_->wait_connected(timeout_ms); }
    bool publish(const std::string& topic, const std::string& payload, int qos = 1);
    // Waits until every QoS 1 publish so far is acknowledged.
    bool wait_acked(int timeout_ms);
    size_t acked() const { return acked_.load(); }

private:
    std::unique_ptr<MqttClient> client_;
    std::atomic<size_t> sent_{0};
    std::atomic<size_t> acked_{0};
    std::mutex mu_;
    std::condition_variable cv_;
};

// The real vigil binary as `vigil run -c <dir>/vigil.yaml`, its stdout and stderr
// in <dir>/<name>.out and <dir>/<name>.err (appended to across restarts).
class Daemon {
public:
    explicit Daemon(const TempDir& dir, std::string name = "vigil") : dir_(dir), name_(std::move(name)) {}
    // Starts it and waits until this run logs "ready:" and "ingest: subscribed" (the
    // broker acknowledged its subscriptions, so events published now reach the log):
    // true; or until it exits or timeout_ms passes (false).
    bool start(int timeout_ms = 15000);
    // Starts it without waiting for "ready:" (a kill may then land during start-up).
    bool spawn();
    // What it logged so far, stderr then stdout, over every run.
    std::string log() const;
    ChildProcess proc;

private:
    const TempDir& dir_;
    std::string name_;
};

// Polls `pred` every every_ms until true or timeout_ms passes.
bool eventually(const std::function<bool()>& pred, int timeout_ms, int every_ms = 10);

}  // namespace vigil::test
