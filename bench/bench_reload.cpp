// Hot reload cost (docs/reload.md): how long a reload of a 200-rule folder takes
// off the hot path, and how long the swap pauses a partition's events.
//   reload, all unchanged     ReloadController::reload(): config + every rule file re-read and compiled
//     baseline                load_rules() alone over the same folder (the parse and compile cost)
//   swap pause, 1 rule changed PartitionEngine::swap_rules() with 200 rules holding 2000 keys of state
//     baseline                one event through the same engine (ratio: the pause in events)
// Targets: reload < 500 ms; swap pause < 5 ms (SPEC 4: swapped "between two events").
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "daemon/reload.h"
#include "patterns/engine.h"
#include "rules/rule_loader.h"

using namespace vigil;
namespace fs = std::filesystem;

namespace {

constexpr int kRules = 200;

std::string rule_text(int i, int variant = 0) {
    return "rule: r" + std::to_string(i) + "\nstream: s\npattern:\n  - name: a\n    where: v > " +
           std::to_string(i + variant) + "\n    times: 3\n  - name: b\n    where: v < " + std::to_string(i) +
           " && a[0].v > 1\nwithin: 1h\n";
}

template <class F>
double ms_of(F&& f, int reps) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
}

EventPtr event(int key, int v, int64_t t) {
    auto ev = std::make_shared<Event>();
    ev->stream = "s";
    ev->key = "k" + std::to_string(key);
    ev->time = t;
    const std::string payload_text = "{\"k\":\"" + ev->key + "\",\"v\":" + std::to_string(v) + "}";
    ev->doc.parse(payload_text);
    return ev;
}

}  // namespace

int main() {
    spdlog::set_level(spdlog::level::warn);
    std::string tmpl = (fs::temp_directory_path() / "vigil-bench-reload-XXXXXX").string();
    fs::path dir = ::mkdtemp(tmpl.data());
    fs::create_directories(dir / "rules");
    std::ofstream(dir / "vigil.yaml") << "data_dir: ./data\npartitions: 1\nstreams:\n  s: { topic: t, key: k }\n"
                                         "rules: ./rules\n";
    for (int i = 0; i < kRules; ++i) std::ofstream(dir / "rules" / ("r" + std::to_string(i) + ".yaml")) << rule_text(i);

    Diagnostics d;
    auto cfg = load_config((dir / "vigil.yaml").string(), d);
    if (!cfg) {
        std::fprintf(stderr, "%s", d.to_string().c_str());
        return 1;
    }
    double parse_ms = ms_of([&] {
        Diagnostics dd;
        load_rules({cfg->rules}, cfg->streams, dd);
    }, 5);
    std::vector<std::string> errors;
    size_t files = 0;
    RuleSetPtr rules = load_rules_for(*cfg, errors, files);
    if (!rules) return 1;
    ReloadController ctl(*cfg, rules, [](RuleSetPtr) {});
    double reload_ms = ms_of([&] { ctl.reload(ReloadTrigger::Manual); }, 5);

    // A partition engine with state in every rule: 2000 keys, each past stage a.
    ManualClock clock;
    VectorAlertSink sink;
    PartitionEngine engine(rules, cfg->streams, clock, sink);
    int64_t t = 0;
    for (int k = 0; k < 2000; ++k) engine.push(event(k, 1000, ++t));
    std::ofstream(dir / "rules" / "r0.yaml") << rule_text(0, 1);
    std::vector<std::string> errors2;
    RuleSetPtr changed = load_rules_for(*cfg, errors2, files);
    RuleSetPtr original = rules;
    bool flip = false;
    double swap_ms = ms_of([&] {
        engine.swap_rules(flip ? original : changed);
        flip = !flip;
    }, 20);
    double events_ms = ms_of([&] {
        for (int i = 0; i < 1000; ++i) engine.push(event(i % 2000, 0, ++t));
    }, 3) / 1000;
    fs::remove_all(dir);

    bool ok = reload_ms < 500 && swap_ms < 5;
    std::printf("%-44s %10s %10s %10s\n", "hot reload (200 rules)", "figure", "target", "ratio");
    std::printf("%-44s %8.1fms %8s %9.2fx\n", "reload, all unchanged", reload_ms, "500ms", reload_ms / parse_ms);
    std::printf("%-44s %8.1fms %10s %10s\n", "  baseline: load_rules() alone", parse_ms, "-", "-");
    std::printf("%-44s %8.3fms %8s %9.2fx\n", "swap pause, 1 of 200 rules changed", swap_ms, "5ms",
                swap_ms / events_ms);
    std::printf("%-44s %8.3fms %10s %10s\n", "  baseline: one event through the engine", events_ms, "-", "-");
    std::printf("%s\n", ok ? "OK" : "FAILED: a target was missed");
    return ok ? 0 : 1;
}
