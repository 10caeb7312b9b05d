// vigil test: the rule tests of SPEC section 5, in virtual time, through the same
// engine as the daemon. Stream settings (key, time field, max_out_of_order) come
// from -c, else from a vigil.yaml in the test file's folder, else the defaults of
// daemon/replay_input.h. Each case gets a fresh engine; its events go in arrival
// order (offset = index + 1 in partition 0), `$watermark` lines advance every
// stream, and the watermark goes to +infinity at the end. Expected alerts are
// matched to actual ones one to one, in any order.
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <map>
#include <set>

#include "daemon/commands.h"
#include "daemon/config.h"
#include "daemon/replay_input.h"
#include "patterns/engine.h"
#include "rules/rule_loader.h"
#include "rules/table_lookup.h"

namespace vigil {

namespace {

// Is `want` a subset of `have`? Objects: every member of `want` is in `have`;
// arrays: same length, element-wise; numbers: equal to 1e-9 relative.
bool json_subset(JsonRef want, JsonRef have) {
    if (!want.valid()) return true;
    if (!have.valid()) return false;
    if (want.is_number() && have.is_number()) {
        double a = want.as_number(), b = have.as_number();
        return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
    }
    if (want.type() != have.type()) return false;
    switch (want.type()) {
    case JsonType::Object:
        for (size_t i = 0; i < want.size(); ++i)
            if (!json_subset(want.member_value(i), have[want.member_name(i)])) return false;
        return true;
    case JsonType::Array:
        if (want.size() != have.size()) return false;
        for (size_t i = 0; i < want.size(); ++i)
            if (!json_subset(want.at(i), have.at(i))) return false;
        return true;
    case JsonType::String: return want.as_string() == have.as_string();
    case JsonType::Bool: return want.as_bool() == have.as_bool();
    default: return true;
    }
}

bool json_text_subset(const std::string& want, const std::string& have) {
    if (want.empty()) return true;
    JsonDoc w, h;
    if (!w.parse(want) || !h.parse(have.empty() ? "{}" : have)) return false;
    return json_subset(w.root(), h.root());
}

using StageIndices = std::vector<std::pair<std::string, std::vector<size_t>>>;

StageIndices indices_of(const Alert& a) {
    StageIndices out;
    for (const auto& [stage, evs] : a.events) {
        std::vector<size_t> idx;
        for (const auto& e : evs) idx.push_back(static_cast<size_t>(e->offset - 1));
        out.emplace_back(stage, std::move(idx));
    }
    return out;
}

bool matches(const RuleTestExpectation& x, const Alert& a) {
    if (x.rule != a.rule) return false;
    if (!x.key.empty() && x.key != a.key) return false;
    if (!x.kind.empty() && x.kind != a.kind) return false;
    if (!x.events.empty()) {
        auto have = indices_of(a);
        if (have.size() != x.events.size()) return false;
        for (const auto& [stage, idx] : x.events) {
            auto it = std::find_if(have.begin(), have.end(), [&](const auto& p) { return p.first == stage; });
            if (it == have.end() || it->second != idx) return false;
        }
    }
    if (x.has_window && (!a.window || a.window->first != x.window_start || a.window->second != x.window_end))
        return false;
    return json_text_subset(x.values_json, a.values_json) && json_text_subset(x.payload_json, a.payload_json);
}

std::string indices_text(const StageIndices& st) {
    std::string s = "{";
    for (size_t i = 0; i < st.size(); ++i) {
        if (i) s += ", ";
        s += st[i].first + ": [";
        for (size_t j = 0; j < st[i].second.size(); ++j) s += (j ? ", " : "") + std::to_string(st[i].second[j]);
        s += "]";
    }
    return s + "}";
}

std::string describe(const RuleTestExpectation& x) {
    std::string s = "{rule: " + x.rule;
    if (!x.key.empty()) s += ", key: " + x.key;
    if (!x.kind.empty()) s += ", kind: " + x.kind;
    if (!x.events.empty()) s += ", events: " + indices_text(x.events);
    if (x.has_window) s += ", window: [" + std::to_string(x.window_start) + ", " + std::to_string(x.window_end) + ")";
    if (!x.values_json.empty()) s += ", values: " + x.values_json;
    if (!x.payload_json.empty()) s += ", payload: " + x.payload_json;
    return s + "}";
}

std::string describe(const Alert& a) {
    std::string s = "{rule: " + a.rule + ", key: " + a.key + ", kind: " + a.kind;
    if (!a.events.empty()) s += ", events: " + indices_text(indices_of(a));
    if (a.window) s += ", window: [" + std::to_string(a.window->first) + ", " + std::to_string(a.window->second) + ")";
    if (!a.values_json.empty()) s += ", values: " + a.values_json;
    if (!a.payload_json.empty() && a.payload_json != "{}") s += ", payload: " + a.payload_json;
    return s + ", time: " + std::to_string(a.time) + "}";
}

struct Outcome {
    bool ok = true;
    std::vector<std::string> lines;  // the diff, when not ok
};

Outcome check_error_case(const RuleTestCase& tc, const std::vector<StreamSpec>& streams) {
    Diagnostics d;
    if (!tc.rules_yaml.empty()) {
        load_rules_text(tc.rules_yaml, tc.file, streams, d);
    } else {
        load_rules({tc.file}, streams, d);
    }
    Outcome o;
    std::string text = d.to_string();
    if (d.has_errors() && text.find(tc.expect_error) != std::string::npos) return o;
    o.ok = false;
    o.lines.push_back("  expected an error containing: " + tc.expect_error);
    o.lines.push_back(d.has_errors() ? "  actual errors:\n" + text : std::string("  actual: the rules loaded"));
    return o;
}

// The rules a case runs: those it names, else those of its file, else all.
RuleSetPtr rules_for(const RuleTestCase& tc, const RuleSet& all, Outcome& o) {
    auto set = std::make_shared<RuleSet>();
    if (!tc.rules.empty()) {
        for (const auto& id : tc.rules) {
            auto it = std::find_if(all.rules.begin(), all.rules.end(), [&](const RulePtr& r) { return r->id == id; });
            if (it == all.rules.end()) {
                o.ok = false;
                o.lines.push_back("  unknown rule: " + id);
                continue;
            }
            set->rules.push_back(*it);
        }
        return set;
    }
    for (const auto& r : all.rules)
        if (r->pos.file == tc.file) set->rules.push_back(r);
    if (set->rules.empty()) set->rules = all.rules;
    return set;
}

Outcome run_case(const RuleTestCase& tc, const RuleSet& all, const std::vector<StreamSpec>& streams) {
    if (!tc.expect_error.empty()) return check_error_case(tc, streams);
    Outcome o;
    RuleSetPtr set = rules_for(tc, all, o);
    if (!o.ok) return o;
    std::string stream = !tc.stream.empty() ? tc.stream : default_input_stream(*set);
    InputSpec in;
    auto cfg = std::find_if(streams.begin(), streams.end(), [&](const StreamSpec& s) { return s.name == stream; });
    if (cfg != streams.end()) {
        in.spec = *cfg;
    } else {
        in = default_input_spec(*set, stream);
    }
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine(set, {in.spec}, clock, sink);
    InlineTables tables;  // the case's `tables:`, seen by table() and ctx.lookup
    for (const auto& row : tc.tables) tables.put(row.table, row.key, row.json);
    TableScope table_scope(&tables);
    size_t index = 0;
    int64_t now = 0;
    for (const auto& input : tc.events) {
        if (input.is_watermark) {
            now = std::max(now, input.watermark);
            clock.now = now;
            engine.advance_watermark("", input.watermark);
            continue;
        }
        auto ev = std::make_shared<Event>();
        std::string detail;
        ++index;
        if (make_input_event(in, input.json, index, now, *ev, &detail) != RejectReason::None) {
            o.ok = false;
            o.lines.push_back("  " + input.pos.file + ":" + std::to_string(input.pos.line) + ": event " +
                              std::to_string(index - 1) + " rejected: " + detail);
            continue;
        }
        now = std::max(now, ev->time);
        clock.now = now;
        engine.push(std::move(ev));
    }
    engine.flush();
    if (!tc.expect_given) return o;

    std::vector<bool> used(sink.alerts.size(), false);
    std::vector<const RuleTestExpectation*> missing;
    for (const auto& x : tc.expect) {
        bool found = false;
        for (size_t i = 0; i < sink.alerts.size() && !found; ++i) {
            if (used[i] || !matches(x, sink.alerts[i])) continue;
            used[i] = found = true;
        }
        if (!found) missing.push_back(&x);
    }
    for (const auto* x : missing) o.lines.push_back("  - expected, not raised: " + describe(*x));
    for (size_t i = 0; i < sink.alerts.size(); ++i)
        if (!used[i]) o.lines.push_back("  + raised, not expected: " + describe(sink.alerts[i]));
    o.ok = o.ok && o.lines.empty();
    return o;
}

// Stream settings for a case: -c, else a vigil.yaml beside the test's file, else none.
class StreamsFor {
public:
    explicit StreamsFor(std::vector<StreamSpec> given, bool have_config)
        : given_(std::move(given)), have_config_(have_config) {}
    const std::vector<StreamSpec>* get(const std::string& file, Outcome& o) {
        if (have_config_) return &given_;
        auto dir = std::filesystem::path(file).parent_path();
        auto cfg = dir / "vigil.yaml";
        auto it = cache_.find(cfg.string());
        if (it == cache_.end()) {
            std::vector<StreamSpec> streams;
            std::error_code ec;
            if (std::filesystem::exists(cfg, ec)) {
                Diagnostics d;
                auto c = load_config(cfg.string(), d);
                if (!c) {
                    o.ok = false;
                    o.lines.push_back("  " + d.to_string());
                    return nullptr;
                }
                streams = c->streams;
            }
            it = cache_.emplace(cfg.string(), std::move(streams)).first;
        }
        return &it->second;
    }

private:
    std::vector<StreamSpec> given_;
    bool have_config_;
    std::map<std::string, std::vector<StreamSpec>> cache_;
};

int run_tests(const std::vector<std::string>& paths_in, const std::string& config_path) {
    std::vector<std::string> paths = paths_in.empty() ? std::vector<std::string>{"."} : paths_in;
    Diagnostics diags;
    std::vector<StreamSpec> streams;
    std::vector<std::string> table_names;
    if (!config_path.empty()) {
        auto cfg = load_config(config_path, diags);
        if (!cfg) {
            std::fprintf(stderr, "%s", diags.to_string().c_str());
            return 1;
        }
        streams = cfg->streams;
        table_names = cfg->table_names();
    }
    LoadedRules loaded = load_rules(paths, streams, diags, config_path.empty() ? nullptr : &table_names);
    bool rules_ok = loaded.rules && !diags.has_errors();
    if (!rules_ok) std::fprintf(stderr, "%s", diags.to_string().c_str());
    size_t passed = 0, failed = rules_ok ? 0 : 1;
    StreamsFor streams_for(streams, !config_path.empty());
    for (const auto& tc : loaded.tests) {
        Outcome o;
        const std::vector<StreamSpec>* case_streams = streams_for.get(tc.file, o);
        if (!case_streams) {
            // o already says why
        } else if (rules_ok || !tc.expect_error.empty()) {
            o = run_case(tc, rules_ok ? *loaded.rules : RuleSet{}, *case_streams);
        } else {
            o.ok = false;
            o.lines.push_back("  the rules failed to load (see above)");
        }
        std::printf("%s %s: %s\n", o.ok ? "ok  " : "FAIL", tc.file.c_str(), tc.name.c_str());
        for (const auto& l : o.lines) std::printf("%s\n", l.c_str());
        (o.ok ? passed : failed)++;
    }
    std::printf("%zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}

}  // namespace

void add_cmd_test(CLI::App& app, int& rc) {
    auto paths = std::make_shared<std::vector<std::string>>();
    auto config = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("test", "run the rule tests (tests: in rule files, *.test.yaml) in virtual time");
    cmd->add_option("paths", *paths, "rule files or folders (default: the current folder)");
    cmd->add_option("-c,--config", *config, "vigil.yaml, for stream key and time settings");
    cmd->callback([paths, config, &rc] { rc = run_tests(*paths, *config); });
}

}  // namespace vigil
