#pragma once
// One function per subcommand, each in its own cmd_<name>.cpp. A command adds its
// CLI11 subcommand and, when run, stores its exit code in `rc`.
#include <CLI/CLI.hpp>

namespace vigil {

void add_cmd_run(CLI::App& app, int& rc);
void add_cmd_check(CLI::App& app, int& rc);
void add_cmd_test(CLI::App& app, int& rc);
void add_cmd_replay(CLI::App& app, int& rc);
void add_cmd_version(CLI::App& app, int& rc);
void add_cmd_ingest(CLI::App& app, int& rc);
void add_cmd_log(CLI::App& app, int& rc);

}  // namespace vigil
