// vigil log stat|tail|dump [-c vigil.yaml]: inspects the log without disturbing
// the daemon (the environment is opened read-only; LMDB readers never block it).
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "daemon/commands.h"
#include "daemon/log_tools.h"

namespace vigil {
namespace {

struct LogArgs {
    std::string config = "vigil.yaml";
    int64_t partition = -1;
    std::string from;
    uint64_t limit = 0;
    uint64_t lines = 10;
    bool follow = false;
};

volatile std::sig_atomic_t g_stop = 0;

std::unique_ptr<EventLog> open_log(const LogArgs& a) {
    Diagnostics diags;
    auto cfg = load_config(a.config, diags);
    if (!cfg) {
        std::cerr << diags.to_string();
        return nullptr;
    }
    std::string err;
    auto log = EventLog::open(log_options_for(*cfg, true), &err);
    if (!log) std::cerr << "vigil log: " << err << "\n";
    if (log && a.partition >= int64_t(log->partitions())) {
        std::cerr << "vigil log: partition " << a.partition << " does not exist (the log has " << log->partitions()
                  << ")\n";
        return nullptr;
    }
    return log;
}

int run_stat(const LogArgs& a) {
    auto log = open_log(a);
    if (!log) return 1;
    Status s = print_log_stat(*log, std::cout);
    if (!s.ok) std::cerr << "vigil log stat: " << s.error << "\n";
    return s.ok ? 0 : 1;
}

int run_dump(const LogArgs& a) {
    auto log = open_log(a);
    if (!log) return 1;
    DumpOptions d;
    if (a.partition >= 0) d.partition = static_cast<uint32_t>(a.partition);
    d.limit = a.limit;
    if (!a.from.empty() && !parse_from_arg(a.from, d)) {
        std::cerr << "vigil log dump: --from wants an offset, an RFC 3339 time or epoch milliseconds, got \""
                  << a.from << "\"\n";
        return 1;
    }
    Status s = dump_records(*log, d, std::cout);
    if (!s.ok) std::cerr << "vigil log dump: " << s.error << "\n";
    return s.ok ? 0 : 1;
}

// The last N records of each partition, then (-f) new ones as they are committed.
int run_tail(const LogArgs& a) {
    auto log = open_log(a);
    if (!log) return 1;
    uint32_t first = a.partition >= 0 ? uint32_t(a.partition) : 0;
    uint32_t end = a.partition >= 0 ? first + 1 : log->partitions();
    std::vector<uint64_t> next(log->partitions(), 1);
    for (uint32_t p = first; p < end; ++p) {
        uint64_t last = log->last_offset(p);
        next[p] = last > a.lines ? last - a.lines + 1 : 1;
    }
    std::signal(SIGINT, [](int) { g_stop = 1; });
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    do {
        bool any = false;
        for (uint32_t p = first; p < end; ++p) {
            Status s = log->scan(p, next[p], 0, [&](const RecordView& r) {
                std::cout << record_json(r) << "\n";
                next[p] = r.offset + 1;
                any = true;
                return true;
            });
            if (!s.ok) return std::cerr << "vigil log tail: " << s.error << "\n", 1;
        }
        if (any) std::cout.flush();
        // Another process writes the log: poll gently (a CLI may, the engine never does).
        if (a.follow && !g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    } while (a.follow && !g_stop);
    return 0;
}

}  // namespace

void add_cmd_log(CLI::App& app, int& rc) {
    auto args = std::make_shared<LogArgs>();
    auto* cmd = app.add_subcommand("log", "inspect the event log: partitions, offsets, consumers, records");
    cmd->require_subcommand(1);
    cmd->add_option("-c,--config", args->config, "config file")->capture_default_str();

    auto* stat = cmd->add_subcommand("stat", "per partition: records, bytes, first/last offset and event time; "
                                             "consumer offsets and lag; outbox; map usage");
    stat->callback([args, &rc] { rc = run_stat(*args); });

    auto* tail = cmd->add_subcommand("tail", "print the last records of each partition as JSON lines");
    tail->add_flag("-f,--follow", args->follow, "keep printing new records until interrupted");
    tail->add_option("-n,--lines", args->lines, "records per partition")->capture_default_str();
    tail->add_option("--partition", args->partition, "only this partition");
    tail->callback([args, &rc] { rc = run_tail(*args); });

    auto* dump = cmd->add_subcommand("dump", "print records as JSON lines, one object per record");
    dump->add_option("--partition", args->partition, "only this partition (default: all, in order)");
    dump->add_option("--from", args->from, "start offset, or event time (RFC 3339 or epoch ms)");
    dump->add_option("--limit", args->limit, "at most this many records per partition");
    dump->callback([args, &rc] { rc = run_dump(*args); });
    for (auto* sub : {stat, tail, dump}) sub->add_option("-c,--config", args->config, "config file");
}

}  // namespace vigil
