#include "daemon/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace vigil {

bool sd_notify_to(const std::string& addr, const std::string& state, std::string* error) {
    if (addr.empty() || (addr[0] != '/' && addr[0] != '@')) {
        if (error) *error = "NOTIFY_SOCKET is not an AF_UNIX path: " + addr;
        return false;
    }
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (addr.size() >= sizeof(sa.sun_path)) {
        if (error) *error = "NOTIFY_SOCKET path too long";
        return false;
    }
    std::memcpy(sa.sun_path, addr.data(), addr.size());
    if (addr[0] == '@') sa.sun_path[0] = '\0';  // abstract namespace
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + addr.size());
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        if (error) *error = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    ssize_t n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                         reinterpret_cast<const sockaddr*>(&sa), len);
    int err = errno;
    ::close(fd);
    if (n < 0 || static_cast<size_t>(n) != state.size()) {
        if (error) *error = std::string("sendto ") + addr + ": " + (n < 0 ? std::strerror(err) : "short write");
        return false;
    }
    return true;
}

bool sd_notify_send(const std::string& state, std::string* error) {
    const char* addr = std::getenv("NOTIFY_SOCKET");
    if (!addr || !*addr) return false;
    return sd_notify_to(addr, state, error);
}

std::string sd_reloading_message() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1000000ULL + static_cast<uint64_t>(ts.tv_nsec) / 1000;
    return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading rules";
}

int64_t sd_watchdog_interval_ms() {
    const char* usec = std::getenv("WATCHDOG_USEC");
    if (!usec || !*usec) return 0;
    if (const char* pid = std::getenv("WATCHDOG_PID"); pid && *pid) {
        if (std::strtoll(pid, nullptr, 10) != static_cast<long long>(::getpid())) return 0;
    }
    char* end = nullptr;
    long long v = std::strtoll(usec, &end, 10);
    if (end == usec || *end != '\0' || v <= 0) return 0;
    return std::max<int64_t>(1, v / 2000);
}

}  // namespace vigil
