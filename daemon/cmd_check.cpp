// vigil check: validates the config and the rule files together, prints every
// problem as `file:line:col: error: message` (stderr), and a one-line summary.
// Exit 1 when there is any error; warnings alone keep exit 0.
#include "daemon/cmd_check.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "daemon/commands.h"
#include "daemon/config.h"
#include "daemon/config_sections.h"
#include "rules/rule_loader.h"

namespace vigil {

namespace {

struct CheckOptions {
    std::string config;
    std::vector<std::string> paths;
};

std::string plural(size_t n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

// Files in the order they were read, then line and column.
std::vector<Diagnostic> sorted(const Diagnostics& diags) {
    std::vector<std::string> files;
    for (const auto& d : diags.items())
        if (std::find(files.begin(), files.end(), d.pos.file) == files.end()) files.push_back(d.pos.file);
    auto rank = [&](const Diagnostic& d) {
        return std::find(files.begin(), files.end(), d.pos.file) - files.begin();
    };
    std::vector<Diagnostic> items = diags.items();
    std::stable_sort(items.begin(), items.end(), [&](const Diagnostic& a, const Diagnostic& b) {
        if (rank(a) != rank(b)) return rank(a) < rank(b);
        if (a.pos.line != b.pos.line) return a.pos.line < b.pos.line;
        return a.pos.col < b.pos.col;
    });
    return items;
}

}  // namespace

int check_files(const std::string& config, const std::vector<std::string>& paths_in, std::string& out,
                std::string& err) {
    Diagnostics diags;
    // A config with errors still names the rules folder and the streams to check against.
    std::optional<Config> cfg;
    std::string text;
    if (!config.empty() && !read_file(config, text))
        diags.error({config, 0, 0}, "cannot read the config file: no such file or not readable");
    else if (!config.empty())
        cfg = parse_config(text, config, diags);

    std::vector<std::string> paths = paths_in;
    if (paths.empty() && cfg && !cfg->rules.empty()) paths.push_back(cfg->rules);
    LoadedRules loaded;
    std::vector<std::string> tables = cfg ? cfg->table_names() : std::vector<std::string>{};
    if (!paths.empty())
        loaded = load_rules(paths, cfg ? cfg->streams : std::vector<StreamSpec>{}, diags, cfg ? &tables : nullptr);

    for (const auto& d : sorted(diags)) err += d.to_string() + "\n";
    size_t warnings = diags.items().size() - diags.error_count();
    if (diags.has_errors()) {
        err += plural(diags.error_count(), "error") + ", " + plural(warnings, "warning") + "\n";
        return 1;
    }
    if (config.empty() && paths.empty()) {
        err += "nothing to check: give -c vigil.yaml and/or rule files or folders\n";
        return 1;
    }
    size_t n_rules = loaded.rules ? loaded.rules->rules.size() : 0;
    out += "ok: " + std::string(config.empty() ? "no config" : "1 config") + ", " + plural(n_rules, "rule") +
           " in " + plural(loaded.files.size(), "file") + ", " + plural(loaded.tests.size(), "test");
    if (warnings) out += ", " + plural(warnings, "warning");
    out += "\n";
    return 0;
}

void add_cmd_check(CLI::App& app, int& rc) {
    auto opts = std::make_shared<CheckOptions>();
    auto* cmd = app.add_subcommand("check", "validate the config and rule files; print every problem as "
                                            "file:line:col: error: message; exit 1 if any");
    cmd->add_option("-c,--config", opts->config, "config file (default: ./vigil.yaml when it exists)");
    cmd->add_option("paths", opts->paths, "rule files or folders (default: the config's rules)");
    cmd->callback([opts, &rc] {
        std::string config = opts->config;
        if (config.empty() && std::filesystem::exists("vigil.yaml")) config = "vigil.yaml";
        std::string out, err;
        rc = check_files(config, opts->paths, out, err);
        std::fputs(err.c_str(), stderr);
        std::fputs(out.c_str(), stdout);
    });
}

}  // namespace vigil
