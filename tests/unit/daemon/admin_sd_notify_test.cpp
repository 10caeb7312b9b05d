// sd_notify: datagrams to a real AF_UNIX socket, as systemd would receive them.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "daemon/sd_notify.h"

using namespace vigil;

namespace {

struct NotifySocket {
    int fd = -1;
    std::string path;
    explicit NotifySocket(bool abstract_name) {
        fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::string name = "vigil-sd-test-" + std::to_string(::getpid()) + (abstract_name ? "-abs" : "");
        path = abstract_name ? "@" + name : "/tmp/" + name;
        if (!abstract_name) ::unlink(path.c_str());
        std::memcpy(sa.sun_path, path.data(), path.size());
        if (abstract_name) sa.sun_path[0] = '\0';
        socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), len) == 0);
        timeval tv{2, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~NotifySocket() {
        ::close(fd);
        if (path[0] == '/') ::unlink(path.c_str());
    }
    std::string receive() {
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<size_t>(n));
    }
};

}  // namespace

TEST_CASE("sd_notify: no NOTIFY_SOCKET, no message and no error") {
    ::unsetenv("NOTIFY_SOCKET");
    std::string err;
    CHECK_FALSE(sd_notify_send("READY=1", &err));
    CHECK(err.empty());
}

TEST_CASE("sd_notify: READY, RELOADING and WATCHDOG reach a path socket and an abstract one") {
    for (bool abstract_name : {false, true}) {
        NotifySocket sock(abstract_name);
        ::setenv("NOTIFY_SOCKET", sock.path.c_str(), 1);
        std::string err;
        CHECK(sd_notify_send("READY=1\nSTATUS=running", &err));
        CHECK(err.empty());
        CHECK(sock.receive() == "READY=1\nSTATUS=running");
        CHECK(sd_notify_send(sd_reloading_message(), &err));
        std::string reloading = sock.receive();
        CHECK(reloading.rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
        CHECK(sd_notify_send("WATCHDOG=1"));
        CHECK(sock.receive() == "WATCHDOG=1");
        ::unsetenv("NOTIFY_SOCKET");
    }
}

TEST_CASE("sd_notify: a socket nobody listens on is an error, not a hang") {
    std::string err;
    CHECK_FALSE(sd_notify_to("/tmp/vigil-no-such-socket-" + std::to_string(::getpid()), "READY=1", &err));
    CHECK(err.find("sendto") != std::string::npos);
    CHECK_FALSE(sd_notify_to("relative/path", "READY=1", &err));
}

TEST_CASE("sd_notify: the watchdog interval is half of WATCHDOG_USEC, for this pid only") {
    ::unsetenv("WATCHDOG_PID");
    ::unsetenv("WATCHDOG_USEC");
    CHECK(sd_watchdog_interval_ms() == 0);
    ::setenv("WATCHDOG_USEC", "20000000", 1);
    CHECK(sd_watchdog_interval_ms() == 10000);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    CHECK(sd_watchdog_interval_ms() == 10000);
    ::setenv("WATCHDOG_PID", "1", 1);
    CHECK(sd_watchdog_interval_ms() == 0);
    ::unsetenv("WATCHDOG_PID");
    ::setenv("WATCHDOG_USEC", "garbage", 1);
    CHECK(sd_watchdog_interval_ms() == 0);
    ::unsetenv("WATCHDOG_USEC");
}
