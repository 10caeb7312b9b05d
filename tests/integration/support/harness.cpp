#include "support/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <httplib.h>

extern char** environ;

namespace vigil::test {

TempDir::TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-it-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    if (!std::getenv("VIGIL_KEEP_TEST_DIRS")) std::filesystem::remove_all(path_, ec);
}

void TempDir::write(const std::string& name, const std::string& content) const {
    std::filesystem::create_directories(std::filesystem::path(file(name)).parent_path());
    std::ofstream(file(name)) << content;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string admin_metrics(int port) {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/metrics");
    return r && r->status == 200 ? r->body : "";
}

double admin_metric(int port, const std::string& series) {
    std::string m = admin_metrics(port);
    size_t at = m.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::strtod(m.c_str() + at + series.size() + 2, nullptr);
}

int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

bool wait_port(int port, int timeout_ms) {
    return eventually(
        [port] {
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            a.sin_port = htons(static_cast<uint16_t>(port));
            bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
            close(fd);
            return ok;
        },
        timeout_ms);
}

bool eventually(const std::function<bool()>& pred, int timeout_ms, int every_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(every_ms));
    }
    return pred();
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0 && running()) {
        signal(SIGKILL);
        wait(5000);
    }
}

bool ChildProcess::start(const std::vector<std::string>& argv, const std::string& out_file,
                         const std::string& err_file) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    status_ = -1;
    return rc == 0;
}

void ChildProcess::signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
}

bool ChildProcess::running() {
    if (pid_ <= 0) return false;
    if (status_ != -1) return false;
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return false;
    }
    return true;
}

int ChildProcess::wait(int timeout_ms) {
    if (pid_ <= 0) return -1;
    eventually([this] { return !running(); }, timeout_ms);
    return running() ? -1 : status_;
}

Broker::Broker(const TempDir& dir, bool verbose) : dir_(dir), verbose_(verbose) {}
Broker::~Broker() { stop(); }

bool Broker::start() {
    if (port_ == 0) port_ = free_port();
    std::ostringstream conf;
    conf << "listener " << port_ << " 127.0.0.1\n"
         << "allow_anonymous true\n"
         << (persistent_ ? "persistence true\npersistence_location " + dir_.path() + "/\n" : "persistence false\n")
         << "max_queued_messages 0\n"
         << "max_inflight_messages 0\n"
         << "log_dest file " << dir_.file("mosquitto.log") << "\n"
         // Run as root, mosquitto drops to its own user, which cannot write the
         // log into this test's private folder.
         << (geteuid() == 0 ? "user root\n" : "")
         << (verbose_ ? "log_type all\n" : "log_type error\nlog_type warning\nlog_type notice\n");
    dir_.write("mosquitto.conf", conf.str());
    std::string bin = "mosquitto";
    for (const char* p : {"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"})
        if (access(p, X_OK) == 0) bin = p;
    if (!proc_.start({bin, "-c", dir_.file("mosquitto.conf")}, dir_.file("mosquitto.out"),
                     dir_.file("mosquitto.out")))
        return false;
    return wait_port(port_, 10000);
}

void Broker::stop() {
    if (!proc_.running()) return;
    proc_.signal(SIGTERM);
    if (proc_.wait(5000) < 0) {
        proc_.signal(SIGKILL);
        proc_.wait(5000);
    }
}

std::string Broker::log() const { return read_file(dir_.file("mosquitto.log")); }

size_t count_of(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}

bool Daemon::start(int timeout_ms) {
    // A restart appends to the same files: wait for this run's lines, not an earlier run's.
    std::string l = log();
    size_t ready = count_of(l, "ready:"), subscribed = count_of(l, "ingest: subscribed");
    auto up = [&] {
        l = log();
        return count_of(l, "ready:") > ready && count_of(l, "ingest: subscribed") > subscribed;
    };
    return spawn() && eventually([&] { return up() || !proc.running(); }, timeout_ms) && proc.running();
}

bool Daemon::spawn() {
    return proc.start({VIGIL_BINARY, "run", "-c", dir_.file("vigil.yaml")}, dir_.file(name_ + ".out"),
                      dir_.file(name_ + ".err"));
}

std::string Daemon::log() const { return read_file(dir_.file(name_ + ".err")) + read_file(dir_.file(name_ + ".out")); }

static MqttOptions test_options(int port, const std::string& id) {
    MqttOptions o;
    o.port = port;
    o.client_id = id;
    o.clean_session = true;
    o.backoff_min_ms = 100;
    o.backoff_max_ms = 500;
    return o;
}

Collector::Collector(int port, const std::string& filter, const std::string& client_id) {
    MqttClient::Callbacks cb;
    cb.on_message = [this](std::string_view topic, std::string_view payload, bool) {
        {
            std::lock_guard lk(mu_);
            messages_.push_back({std::string(topic), std::string(payload)});
        }
        cv_.notify_all();
    };
    client_ = std::make_unique<MqttClient>(test_options(port, client_id),
                                           std::vector<MqttSubscription>{{filter, 1}}, std::move(cb));
    std::string err;
    client_->start(&err);
}

Collector::~Collector() { client_->stop(); }

bool Collector::wait_for(size_t n, int timeout_ms) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return messages_.size() >= n; });
}

std::vector<ReceivedMessage> Collector::messages() const {
    std::lock_guard lk(mu_);
    return messages_;
}

std::vector<ReceivedMessage> Collector::messages(const std::string& topic_prefix) const {
    std::lock_guard lk(mu_);
    std::vector<ReceivedMessage> out;
    for (const auto& m : messages_)
        if (m.topic.rfind(topic_prefix, 0) == 0) out.push_back(m);
    return out;
}

Publisher::Publisher(int port, const std::string& client_id) {
    MqttClient::Callbacks cb;
    cb.on_published = [this](int) {
        ++acked_;
        cv_.notify_all();
    };
    client_ = std::make_unique<MqttClient>(test_options(port, client_id), std::vector<MqttSubscription>{},
                                           std::move(cb));
    std::string err;
    client_->start(&err);
}

Publisher::~Publisher() { client_->stop(); }

bool Publisher::publish(const std::string& topic, const std::string& payload, int qos) {
    int mid = 0;
    if (!client_->publish(topic, payload, qos, &mid)) return false;
    if (qos > 0) ++sent_;
    return true;
}

bool Publisher::wait_acked(int timeout_ms) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return acked_.load() >= sent_.load(); });
}

}  // namespace vigil::test
