#include "rules/units.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace vigil {

namespace {
bool parse_number(std::string_view s, double& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

size_t number_prefix(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    return i;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, size_t at, size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}
}  // namespace

std::optional<int64_t> parse_duration_ms(std::string_view text) {
    size_t n = number_prefix(text);
    double v = 0;
    if (n == 0 || !parse_number(text.substr(0, n), v)) return std::nullopt;
    std::string_view unit = text.substr(n);
    double mult = 0;
    if (unit == "ms") mult = 1;
    else if (unit == "s") mult = 1000;
    else if (unit == "m") mult = 60'000;
    else if (unit == "h") mult = 3'600'000;
    else if (unit == "d") mult = 86'400'000;
    else if (unit == "w") mult = 7 * 86'400'000.0;
    else return std::nullopt;
    double ms = v * mult + 0.5;
    if (!(ms < 9.0e18)) return std::nullopt;  // beyond int64 milliseconds (~292 million years)
    return static_cast<int64_t>(ms);
}

std::optional<uint64_t> parse_size_bytes(std::string_view text) {
    size_t n = number_prefix(text);
    double v = 0;
    if (n == 0 || !parse_number(text.substr(0, n), v)) return std::nullopt;
    std::string_view unit = text.substr(n);
    double mult = 0;
    if (unit == "" || unit == "B") mult = 1;
    else if (unit == "KiB") mult = 1024.0;
    else if (unit == "MiB") mult = 1024.0 * 1024;
    else if (unit == "GiB") mult = 1024.0 * 1024 * 1024;
    else if (unit == "TiB") mult = 1024.0 * 1024 * 1024 * 1024;
    else if (unit == "KB" || unit == "kB") mult = 1e3;
    else if (unit == "MB") mult = 1e6;
    else if (unit == "GB") mult = 1e9;
    else if (unit == "TB") mult = 1e12;
    else return std::nullopt;
    double bytes = v * mult + 0.5;
    if (!(bytes < 1.8e19)) return std::nullopt;  // beyond uint64
    return static_cast<uint64_t>(bytes);
}

std::string format_duration(int64_t ms) {
    struct U { int64_t ms; const char* name; };
    static const U units[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
    if (ms != 0) {
        for (const auto& u : units)
            if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
    }
    return std::to_string(ms) + "ms";
}

std::optional<int64_t> parse_rfc3339_ms(std::string_view s) {
    int Y, M, D, h, m, sec;
    if (!digits(s, 0, 4, Y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, M) || s[7] != '-' ||
        !digits(s, 8, 2, D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, h) ||
        s[13] != ':' || !digits(s, 14, 2, m) || s[16] != ':' || !digits(s, 17, 2, sec))
        return std::nullopt;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return std::nullopt;
    size_t i = 19;
    int64_t frac_ms = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        int scale = 100, nd = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (nd < 3) frac_ms += (s[i] - '0') * scale;
            scale /= 10;
            ++nd;
            ++i;
        }
        if (nd == 0) return std::nullopt;
    }
    int64_t offset_min = 0;
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
        ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om))
            return std::nullopt;
        offset_min = (oh * 60 + om) * (s[i] == '+' ? 1 : -1);
        i += 6;
    } else {
        return std::nullopt;
    }
    if (i != s.size()) return std::nullopt;
    int64_t days = days_from_civil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D));
    int64_t secs = days * 86400 + h * 3600 + m * 60 + sec - offset_min * 60;
    return secs * 1000 + frac_ms;
}

std::string format_rfc3339_ms(int64_t ms) {
    std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int64_t frac = ms - static_cast<int64_t>(secs) * 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(frac));
    return buf;
}

std::optional<int64_t> parse_time_arg_ms(std::string_view text) {
    if (auto t = parse_rfc3339_ms(text)) return t;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && p == text.data() + text.size() && !text.empty()) return v;
    return std::nullopt;
}

}  // namespace vigil
