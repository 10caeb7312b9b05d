// vigil ingest [-c vigil.yaml] [--stream S] [--topic T] FILE.jsonl|-
// Backfill: appends historical events to the log with live ingest's key and time
// extraction. Exit 0 when every event line was stored; 1 when a line was rejected
// or the log refused to write (what was committed before stays).
#include <chrono>
#include <fstream>
#include <iostream>

#include "daemon/commands.h"
#include "daemon/log_tools.h"

namespace vigil {
namespace {

struct IngestArgs {
    std::string config = "vigil.yaml";
    std::string stream, topic, file;
};

const StreamSpec* pick_stream(const Config& cfg, const std::string& name) {
    if (!name.empty()) {
        if (const StreamSpec* s = cfg.stream(name)) return s;
        std::cerr << "vigil ingest: no stream \"" << name << "\" in " << cfg.file << "\n";
        return nullptr;
    }
    if (cfg.streams.size() == 1) return &cfg.streams.front();
    std::cerr << "vigil ingest: " << cfg.file << " has " << cfg.streams.size()
              << " streams: name one with --stream\n";
    return nullptr;
}

int run_ingest(const IngestArgs& a) {
    Diagnostics diags;
    auto cfg = load_config(a.config, diags);
    if (!cfg) {
        std::cerr << diags.to_string();
        return 1;
    }
    const StreamSpec* spec = pick_stream(*cfg, a.stream);
    if (!spec) return 1;
    std::ifstream file;
    if (a.file != "-") {
        file.open(a.file);
        if (!file) return std::cerr << "vigil ingest: cannot read " << a.file << "\n", 1;
    }
    std::string err;
    auto log = EventLog::open(log_options_for(*cfg, false), &err);
    if (!log) return std::cerr << "vigil ingest: " << err << "\n", 1;
    IngestOptions opts;
    opts.topic = a.topic;
    auto now = [] {
        using namespace std::chrono;
        return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    };
    IngestSummary s = ingest_jsonl(*log, *spec, a.file == "-" ? std::cin : file, opts, std::cerr, now);
    std::cout << "ingested " << s.ingested << " event(s) into stream " << spec->name << ", rejected " << s.rejected
              << ", skipped " << s.watermarks << " watermark line(s)\n";
    if (!s.error.empty()) std::cerr << "vigil ingest: " << s.error << "\n";
    return s.error.empty() && s.rejected == 0 ? 0 : 1;
}

}  // namespace

void add_cmd_ingest(CLI::App& app, int& rc) {
    auto args = std::make_shared<IngestArgs>();
    auto* cmd = app.add_subcommand("ingest", "append historical events (JSON lines) to the log, as live ingest would");
    cmd->add_option("-c,--config", args->config, "config file")->capture_default_str();
    cmd->add_option("--stream", args->stream, "stream the events belong to (default: the only stream)");
    cmd->add_option("--topic", args->topic, "MQTT topic recorded with each event (default: the stream's topic)");
    cmd->add_option("file", args->file, "JSONL file, or - for stdin")->required();
    cmd->callback([args, &rc] { rc = run_ingest(*args); });
}

}  // namespace vigil
