#pragma once
// Helpers for the reload tests: a temporary folder with a vigil.yaml and rule files.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace vigil::reload_test {

class TempTree {
public:
    TempTree() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-reload-XXXXXX").string();
        path_ = ::mkdtemp(tmpl.data());
    }
    ~TempTree() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }
    std::string file(const std::string& rel) const { return path_ + "/" + rel; }
    // Writes rel in place (open, write, close: IN_CLOSE_WRITE).
    void write(const std::string& rel, const std::string& text) const {
        std::filesystem::create_directories(std::filesystem::path(file(rel)).parent_path());
        std::ofstream(file(rel)) << text;
    }
    // Writes a temporary file and renames it over rel, as many editors save.
    void save_by_rename(const std::string& rel, const std::string& text) const {
        std::string tmp = file(rel) + ".tmp~";
        std::ofstream(tmp) << text;
        std::filesystem::rename(tmp, file(rel));
    }

private:
    std::string path_;
};

inline std::string config_yaml(const std::string& data_dir = "./data", int partitions = 2,
                               const std::string& client_id = "t1", const std::string& rules = "./rules",
                               const std::string& level = "info") {
    return "data_dir: " + data_dir + "\npartitions: " + std::to_string(partitions) + "\nmqtt: { client_id: " +
           client_id + " }\nstreams:\n  s: { topic: t/s, key: k, time: { field: ts, format: epoch_ms } }\nrules: " +
           rules + "\nlog: { level: " + level + " }\n";
}

inline std::string pattern_rule(const std::string& id, const std::string& first = "x", const std::string& extra = "") {
    return "rule: " + id + "\nstream: s\n" + extra + "pattern:\n  - name: first\n    where: type == \"" + first +
           "\"\n  - name: second\n    where: type == \"y\"\n";
}

}  // namespace vigil::reload_test
