// vigil replay: a backtest in virtual time (SPEC section 1), over a JSONL file
// (--input) or over the stored log (--from/--to, docs/replay.md).
// Time only moves with the events and `{"$watermark": T}` lines; detected_at is
// the largest event time seen, so the same input gives the same output.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <vector>

#include "daemon/commands.h"
#include "daemon/config.h"
#include "daemon/log_tools.h"
#include "daemon/replay_input.h"
#include "daemon/replay_log.h"
#include "daemon/replay_report.h"
#include "daemon/table_feed.h"
#include "daemon/table_view.h"
#include "patterns/engine.h"
#include "rules/rule_loader.h"
#include "rules/units.h"
#include "storage/log.h"

namespace vigil {

namespace {

struct ReplayOptions {
    std::string input, rules, config, stream, out, max_out_of_order, idle_timeout;
    std::string from, to, diff_against, report = "text";
    std::vector<int> partitions;
    int workers = 1;
    bool no_flush = false;
};

// Writes alerts as they come, one JSON object per line, and counts them per rule.
class JsonlSink : public AlertSink {
public:
    explicit JsonlSink(std::ostream& out) : out_(out) {}
    void emit(Alert&& a) override {
        out_ << a.to_json() << '\n';
        per_rule_[a.rule]++;
        total_++;
    }
    uint64_t total() const { return total_; }
    uint64_t for_rule(const std::string& r) const {
        auto it = per_rule_.find(r);
        return it == per_rule_.end() ? 0 : it->second;
    }

private:
    std::ostream& out_;
    std::map<std::string, uint64_t> per_rule_;
    uint64_t total_ = 0;
};

bool duration_arg(const std::string& text, const char* flag, int64_t& out) {
    if (text.empty()) return true;
    auto d = parse_duration_ms(text);
    if (!d) {
        std::fprintf(stderr, "vigil replay: %s: \"%s\" is not a duration (e.g. 500ms, 5s, 10m)\n", flag, text.c_str());
        return false;
    }
    out = *d;
    return true;
}

bool log_mode(const ReplayOptions& o) {
    return !o.from.empty() || !o.to.empty() || !o.partitions.empty() || !o.diff_against.empty();
}

int run_log_mode(const ReplayOptions& o);

int run_replay(const ReplayOptions& o) {
    if (log_mode(o) && !o.input.empty()) {
        std::fprintf(stderr, "vigil replay: --input reads a file; --from/--to/--partition/--diff-against read the "
                             "log: use one or the other\n");
        return 2;
    }
    if (log_mode(o)) return run_log_mode(o);
    if (o.input.empty()) {
        std::fprintf(stderr, "vigil replay: give --input FILE.jsonl (or -), or --from/--to to replay the log\n");
        return 2;
    }
    Diagnostics diags;
    std::optional<Config> config;
    if (!o.config.empty()) {
        config = load_config(o.config, diags);
        if (!config) {
            std::fprintf(stderr, "%s", diags.to_string().c_str());
            return 1;
        }
    }
    std::string rules_path = !o.rules.empty() ? o.rules : (config ? config->rules : std::string());
    if (rules_path.empty()) {
        std::fprintf(stderr, "vigil replay: no rules: give --rules PATH or -c vigil.yaml with `rules:`\n");
        return 2;
    }
    std::vector<std::string> table_names = config ? config->table_names() : std::vector<std::string>{};
    LoadedRules loaded = load_rules({rules_path}, config ? config->streams : std::vector<StreamSpec>{}, diags,
                                    config ? &table_names : nullptr);
    if (!loaded.rules || diags.has_errors()) {
        std::fprintf(stderr, "%s", diags.to_string().c_str());
        return 1;
    }
    const RuleSet& rules = *loaded.rules;
    std::string stream = !o.stream.empty() ? o.stream : default_input_stream(rules);
    InputSpec in;
    if (const StreamSpec* s = config ? config->stream(stream) : nullptr) {
        in.spec = *s;
    } else {
        in = default_input_spec(rules, stream);
    }
    if (!duration_arg(o.max_out_of_order, "--max-out-of-order", in.spec.max_out_of_order_ms) ||
        !duration_arg(o.idle_timeout, "--idle-timeout", in.spec.idle_timeout_ms))
        return 2;

    std::ifstream file;
    std::istream* input = &std::cin;
    if (o.input != "-") {
        file.open(o.input);
        if (!file) {
            std::fprintf(stderr, "vigil replay: cannot open %s\n", o.input.c_str());
            return 1;
        }
        input = &file;
    }
    std::ofstream out_file;
    std::ostream* out = &std::cout;
    if (!o.out.empty()) {
        out_file.open(o.out);
        if (!out_file) {
            std::fprintf(stderr, "vigil replay: cannot write %s\n", o.out.c_str());
            return 1;
        }
        out = &out_file;
    }

    ManualClock clock;
    JsonlSink sink(*out);
    PartitionEngine engine(loaded.rules, {in.spec}, clock, sink);
    std::string table_err;
    ReplayTables tables = config ? open_replay_tables(*config, &table_err) : ReplayTables{};
    if (!table_err.empty()) std::fprintf(stderr, "vigil replay: %s\n", table_err.c_str());
    std::unique_ptr<TableView> table_view =
        tables.store ? std::make_unique<TableView>(*tables.store, tables.as_of) : nullptr;
    TableScope table_scope(table_view.get());
    auto started = std::chrono::steady_clock::now();
    std::string line;
    uint64_t line_no = 0, events = 0, rejected = 0;
    int64_t now = 0;
    Lookahead ahead(engine);
    auto give = [&](EventPtr ev) {
        clock.now = std::max(clock.now, ev->time);
        engine.push(std::move(ev));
    };
    while (std::getline(*input, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        int64_t wm = 0;
        if (parse_watermark_line(line, wm)) {
            ahead.drain(give);
            now = std::max(now, wm);
            clock.now = now;
            engine.advance_watermark(stream, wm);
            continue;
        }
        auto ev = std::make_shared<Event>();
        std::string detail;
        if (make_input_event(in, line, events + 1, now, *ev, &detail) != RejectReason::None) {
            if (++rejected <= 10) std::fprintf(stderr, "%s:%llu: rejected: %s\n", o.input.c_str(),
                                               static_cast<unsigned long long>(line_no), detail.c_str());
            continue;
        }
        ++events;
        now = std::max(now, ev->time);
        ahead.push(std::move(ev), give);
        if (table_view && (events & 1023) == 0) {  // as the log replay: no snapshot held for long
            ahead.drain(give);
            table_view->end_batch();
        }
    }
    ahead.drain(give);
    if (!o.no_flush) engine.flush();
    out->flush();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    std::fprintf(stderr, "replay: %llu events (%llu rejected), %llu alerts, %llu late, %.3f s, %.0f events/s\n",
                 static_cast<unsigned long long>(events), static_cast<unsigned long long>(rejected),
                 static_cast<unsigned long long>(sink.total()), static_cast<unsigned long long>(engine.late_events()),
                 secs, secs > 0 ? events / secs : 0.0);
    for (const auto& st : engine.stats()) {
        std::fprintf(stderr, "  %-32s alerts %llu, late %llu, events %llu, keys %zu, dropped %llu\n", st.rule.c_str(),
                     static_cast<unsigned long long>(sink.for_rule(st.rule)),
                     static_cast<unsigned long long>(st.counters.late_events),
                     static_cast<unsigned long long>(st.events), st.keys,
                     static_cast<unsigned long long>(st.counters.dropped_partial_matches + st.counters.dropped_keys));
    }
    return 0;
}

bool time_arg(const std::string& text, const char* flag, int64_t& out) {
    if (text.empty()) return true;
    auto t = parse_time_arg_ms(text);
    if (!t) {
        std::fprintf(stderr, "vigil replay: %s: \"%s\" is not a time (RFC 3339 or epoch ms)\n", flag, text.c_str());
        return false;
    }
    out = *t;
    return true;
}

// The log source: -c vigil.yaml names the data folder; the log is opened read
// only beside a running daemon (docs/replay.md).
int run_log_mode(const ReplayOptions& o) {
    if (o.config.empty()) {
        std::fprintf(stderr, "vigil replay: replaying the log needs -c vigil.yaml (data_dir, partitions, streams)\n");
        return 2;
    }
    if (!o.diff_against.empty() && o.diff_against != "live") {
        std::fprintf(stderr, "vigil replay: --diff-against: only \"live\" (the daemon's alert store) is known\n");
        return 2;
    }
    if (o.report != "text" && o.report != "json") {
        std::fprintf(stderr, "vigil replay: --report: text or json\n");
        return 2;
    }
    LogReplayOptions ro;
    if (!time_arg(o.from, "--from", ro.from) || !time_arg(o.to, "--to", ro.to)) return 2;
    if (ro.from >= ro.to) {
        std::fprintf(stderr, "vigil replay: --from must be before --to\n");
        return 2;
    }
    if (o.workers < 1) {
        std::fprintf(stderr, "vigil replay: --workers must be at least 1\n");
        return 2;
    }
    for (int p : o.partitions) {
        if (p < 0) {
            std::fprintf(stderr, "vigil replay: --partition %d: partitions are numbered from 0\n", p);
            return 2;
        }
        ro.partitions.push_back(static_cast<uint32_t>(p));
    }
    ro.workers = static_cast<uint32_t>(o.workers);
    ro.stream = o.stream;
    ro.flush = !o.no_flush;
    ro.keep_json = true;

    Diagnostics diags;
    auto config = load_config(o.config, diags);
    if (!config) {
        std::fprintf(stderr, "%s", diags.to_string().c_str());
        return 1;
    }
    for (auto& s : config->streams) {
        if (!o.stream.empty() && s.name != o.stream) continue;
        if (!duration_arg(o.max_out_of_order, "--max-out-of-order", s.max_out_of_order_ms) ||
            !duration_arg(o.idle_timeout, "--idle-timeout", s.idle_timeout_ms))
            return 2;
    }
    std::string rules_path = !o.rules.empty() ? o.rules : config->rules;
    std::vector<std::string> table_names = config->table_names();
    LoadedRules loaded = load_rules({rules_path}, config->streams, diags, &table_names);
    if (!loaded.rules || diags.has_errors()) {
        std::fprintf(stderr, "%s", diags.to_string().c_str());
        return 1;
    }
    std::string err;
    auto log = EventLog::open(log_options_for(*config, true), &err);
    if (!log) {
        std::fprintf(stderr, "vigil replay: cannot open the log in %s: %s\n", config->data_dir.c_str(), err.c_str());
        return 1;
    }
    std::string table_err;
    ReplayTables tables = open_replay_tables(*config, &table_err);
    if (!table_err.empty()) std::fprintf(stderr, "vigil replay: %s\n", table_err.c_str());
    ro.tables = tables.store.get();
    ro.as_of_tables = tables.as_of;
    LogReplayResult result;
    if (!run_log_replay(*log, loaded.rules, config->streams, ro, result, &err)) {
        std::fprintf(stderr, "vigil replay: %s\n", err.c_str());
        return 1;
    }
    ReplayReport report = make_report(result, ro.from, ro.to);
    if (!o.diff_against.empty()) {
        std::vector<AlertBrief> live;
        uint64_t unreadable = 0;
        Status st = log->alerts_scan(ro.from, ro.to, [&](int64_t, std::string_view, std::string_view json) {
            AlertBrief b;
            if (!brief_from_json(json, b)) {
                ++unreadable;
                return true;
            }
            // Window alerts carry no offsets: the partition of their key, as ingest chose it.
            if (b.partition == UINT32_MAX) b.partition = log->partition_for_key(b.key);
            bool in_parts = ro.partitions.empty() || b.partition == UINT32_MAX ||
                            std::find(ro.partitions.begin(), ro.partitions.end(), b.partition) != ro.partitions.end();
            if (in_parts) live.push_back(std::move(b));
            return true;
        });
        if (!st.ok) {
            std::fprintf(stderr, "vigil replay: reading the live alerts failed: %s\n", st.error.c_str());
            return 1;
        }
        diff_report(report, result.briefs, live, unreadable);
    }
    // Alerts as JSONL on --out or stdout (SPEC section 1); the report on stderr.
    std::ofstream out_file;
    std::ostream* out = &std::cout;
    if (!o.out.empty()) {
        out_file.open(o.out);
        out = &out_file;
    }
    for (const auto& a : result.alert_json) *out << a << '\n';
    out->flush();
    if (!*out) {
        std::fprintf(stderr, "vigil replay: cannot write %s\n", o.out.empty() ? "stdout" : o.out.c_str());
        return 1;
    }
    std::string text = o.report == "json" ? report_json(report) + "\n" : report_text(report);
    std::fwrite(text.data(), 1, text.size(), stderr);
    return 0;
}

}  // namespace

void add_cmd_replay(CLI::App& app, int& rc) {
    auto opts = std::make_shared<ReplayOptions>();
    auto* cmd = app.add_subcommand("replay", "backtest: run rules in virtual time over a JSONL file or the stored log");
    cmd->add_option("--input", opts->input, "events, one JSON object per line (- for stdin)");
    cmd->add_option("--rules", opts->rules, "rule file or folder (default: the config's rules)");
    cmd->add_option("-c,--config", opts->config, "vigil.yaml (streams: key and time settings)");
    cmd->add_option("--stream", opts->stream, "stream the input lines belong to (default: the rules' stream)");
    cmd->add_option("--out", opts->out, "write alerts here as JSONL (default: stdout)");
    cmd->add_flag("--no-flush", opts->no_flush, "at the end do not advance the watermark to +infinity");
    cmd->add_option("--max-out-of-order", opts->max_out_of_order, "override the stream's max_out_of_order");
    cmd->add_option("--idle-timeout", opts->idle_timeout, "override the stream's idle_timeout");
    cmd->add_option("--from", opts->from, "replay the log: events with event time >= this (RFC 3339 or epoch ms)");
    cmd->add_option("--to", opts->to, "replay the log: events with event time < this (RFC 3339 or epoch ms)");
    cmd->add_option("--partition", opts->partitions, "replay only this partition of the log (repeatable)");
    cmd->add_option("--workers", opts->workers, "log replay: threads; partitions are spread over them")
        ->capture_default_str();
    cmd->add_option("--diff-against", opts->diff_against, "log replay: compare with `live` (the alert store)");
    cmd->add_option("--report", opts->report, "log replay: the report on stderr as text or json (one line)")->capture_default_str();
    cmd->callback([opts, &rc] { rc = run_replay(*opts); });
}

}  // namespace vigil
