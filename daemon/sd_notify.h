#pragma once
// The systemd notify protocol (sd_notify(3)) without libsystemd: one datagram of
// "KEY=VALUE\n..." to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an
// abstract name when it starts with '@').
//
// Guarantees: with NOTIFY_SOCKET unset every call is a no-op that returns false;
// nothing blocks (MSG_DONTWAIT) and nothing throws. A send that fails returns false
// and `error` (when given) says why; the daemon logs it and carries on.
// watchdog_interval_ms() reads $WATCHDOG_USEC (and $WATCHDOG_PID when set, which
// must be this process) and returns half of it, the interval at which to send
// WATCHDOG=1; 0 when the watchdog is off.
// Thread rules: stateless; callable from any thread.
#include <cstdint>
#include <string>

namespace vigil {

// Sends `state` (e.g. "READY=1\nSTATUS=running") to $NOTIFY_SOCKET.
bool sd_notify_send(const std::string& state, std::string* error = nullptr);
// Sends to an explicit socket address (the env var's value); used by sd_notify_send and tests.
bool sd_notify_to(const std::string& socket_addr, const std::string& state, std::string* error = nullptr);
// RELOADING=1 must carry MONOTONIC_USEC (systemd >= 253 for Type=notify-reload).
std::string sd_reloading_message();
int64_t sd_watchdog_interval_ms();

}  // namespace vigil
