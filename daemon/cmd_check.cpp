// vigil check: validates the config and the rule files together, prints every
// problem as `file:line:col: error: message` (stderr), and a one-line summary.
// Exit 1 when there is any error; warnings alone keep exit 0.
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "daemon/commands.h"
#include "daemon/config.h"
#include "rules/rule_loader.h"

namespace vigil {

namespace {

struct CheckOptions {
    std::string config;
    std::vector<std::string> paths;
};

std::string plural(size_t n, const char* word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

int run_check(const CheckOptions& o) {
    Diagnostics diags;
    std::optional<Config> cfg;
    std::string config_path = o.config;
    if (config_path.empty() && std::filesystem::exists("vigil.yaml")) config_path = "vigil.yaml";
    if (!config_path.empty()) cfg = load_config(config_path, diags);

    std::vector<std::string> paths = o.paths;
    if (paths.empty() && cfg && !cfg->rules.empty()) paths.push_back(cfg->rules);
    LoadedRules loaded;
    if (!paths.empty()) loaded = load_rules(paths, cfg ? cfg->streams : std::vector<StreamSpec>{}, diags);

    for (const auto& d : diags.items()) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    size_t warnings = diags.items().size() - diags.error_count();
    if (diags.has_errors()) {
        std::fprintf(stderr, "%s, %s\n", plural(diags.error_count(), "error").c_str(),
                     plural(warnings, "warning").c_str());
        return 1;
    }
    if (config_path.empty() && paths.empty()) {
        std::fprintf(stderr, "nothing to check: give -c vigil.yaml and/or rule files or folders\n");
        return 1;
    }
    size_t n_rules = loaded.rules ? loaded.rules->rules.size() : 0;
    std::printf("ok: %s, %s in %s, %s%s\n", config_path.empty() ? "no config" : "1 config",
                plural(n_rules, "rule").c_str(), plural(loaded.files.size(), "file").c_str(),
                plural(loaded.tests.size(), "test").c_str(),
                warnings ? (", " + plural(warnings, "warning")).c_str() : "");
    return 0;
}

}  // namespace

void add_cmd_check(CLI::App& app, int& rc) {
    auto opts = std::make_shared<CheckOptions>();
    auto* cmd = app.add_subcommand("check", "validate the config and rule files; print every problem as "
                                            "file:line:col: error: message; exit 1 if any");
    cmd->add_option("-c,--config", opts->config, "config file (default: ./vigil.yaml when it exists)");
    cmd->add_option("paths", opts->paths, "rule files or folders (default: the config's rules)");
    cmd->callback([opts, &rc] { rc = run_check(*opts); });
}

}  // namespace vigil
