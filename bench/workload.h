#pragma once
// Deterministic workloads for benchmarks and demos: sensor telemetry and card
// transactions as JSON lines. The same seed gives the same bytes on every
// machine, so figures from different runs describe the same input.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace vigil::bench {

class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint64_t next() {
        uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return next() % n; }
    double uniform() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }

private:
    uint64_t s_;
};

struct WorkloadOptions {
    uint64_t events = 100000;
    uint64_t keys = 1000;
    uint64_t seed = 42;
    int64_t start_ms = 1767225600000;  // 2026-01-01T00:00:00Z
    int64_t step_ms = 10;              // event time advance per event
    int64_t max_disorder_ms = 0;       // events may be up to this much out of order
};

inline std::string key_name(const char* prefix, uint64_t k) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%06llu", prefix, static_cast<unsigned long long>(k));
    return buf;
}

inline int64_t event_time(const WorkloadOptions& o, uint64_t i, Rng& rng) {
    int64_t t = o.start_ms + static_cast<int64_t>(i) * o.step_ms;
    if (o.max_disorder_ms > 0) t -= static_cast<int64_t>(rng.below(static_cast<uint64_t>(o.max_disorder_ms)));
    return t;
}

// {"device":"pump-000042","ts":...,"metric":"temperature","value":71.25,"site":"plant-1","fw":"2.4.1"}
// About 200 bytes with the padding field, like a real gateway's telemetry.
inline std::vector<std::string> sensor_events(const WorkloadOptions& o) {
    Rng rng(o.seed);
    static const char* metrics[] = {"temperature", "vibration", "pressure", "heartbeat"};
    std::vector<std::string> out;
    out.reserve(o.events);
    char buf[512];
    for (uint64_t i = 0; i < o.events; ++i) {
        uint64_t k = rng.below(o.keys);
        const char* metric = metrics[rng.below(4)];
        double value = 40.0 + rng.uniform() * 60.0;
        int n = std::snprintf(buf, sizeof buf,
                              "{\"device\":\"%s\",\"ts\":%lld,\"metric\":\"%s\",\"value\":%.2f,\"site\":\"plant-%llu\","
                              "\"fw\":\"2.4.1\",\"unit\":\"si\",\"seq\":%llu,\"pad\":\"%.*s\"}",
                              key_name("pump-", k).c_str(), static_cast<long long>(event_time(o, i, rng)), metric,
                              value, static_cast<unsigned long long>(k % 4), static_cast<unsigned long long>(i), 40,
                              "................................................");
        out.emplace_back(buf, static_cast<size_t>(n));
    }
    return out;
}

// {"card_id":"c000123","amount":12.50,"merchant":"m042","country":"DE","timestamp":...}
inline std::vector<std::string> transaction_events(const WorkloadOptions& o) {
    Rng rng(o.seed);
    static const char* countries[] = {"DE", "FR", "US", "GB", "ES", "IT", "NL", "PL"};
    std::vector<std::string> out;
    out.reserve(o.events);
    char buf[384];
    for (uint64_t i = 0; i < o.events; ++i) {
        uint64_t k = rng.below(o.keys);
        double amount = rng.below(10) < 3 ? rng.uniform() * 2.0 : rng.uniform() * 900.0;
        int n = std::snprintf(buf, sizeof buf,
                              "{\"card_id\":\"%s\",\"amount\":%.2f,\"merchant\":\"m%03llu\",\"country\":\"%s\","
                              "\"timestamp\":%lld,\"mcc\":\"5411\"}",
                              key_name("c", k).c_str(), amount, static_cast<unsigned long long>(rng.below(200)),
                              countries[rng.below(k % 7 == 0 ? 8 : 1)],
                              static_cast<long long>(event_time(o, i, rng)));
        out.emplace_back(buf, static_cast<size_t>(n));
    }
    return out;
}

}  // namespace vigil::bench
