#pragma once
// A fresh folder under the system temp dir, removed with everything in it.
#include <cstdlib>
#include <filesystem>
#include <string>

#include "storage/log.h"

namespace vigil::test {

class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-storage-XXXXXX").string();
        if (char* p = ::mkdtemp(tmpl.data())) path_ = p;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string sub(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

inline LogOptions small_log(const std::string& dir, uint32_t partitions = 4) {
    LogOptions o;
    o.dir = dir;
    o.partitions = partitions;
    o.map_size = 16ULL << 20;
    o.sync_interval_ms = 20;
    return o;
}

inline AppendRequest event(uint32_t partition, int64_t event_time, std::string payload, std::string key = "k") {
    AppendRequest r;
    r.partition = partition;
    r.event_time = event_time;
    r.ingest_time = event_time;
    r.stream = "sensors";
    r.key = std::move(key);
    r.topic = "factory/a/telemetry";
    r.payload = std::move(payload);
    return r;
}

}  // namespace vigil::test
