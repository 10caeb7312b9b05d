// vigil: complex event processing at the edge. See SPEC.md section 1 for the commands.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/commands.h"

int main(int argc, char** argv) {
    // Logs go to stderr: stdout carries command output (alerts as JSONL, dumps).
    spdlog::set_default_logger(spdlog::stderr_logger_mt("vigil"));
    CLI::App app{"vigil: complex event processing at the edge (MQTT in, durable log, rules, alerts out)"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "help for every command");
    int rc = 0;
    // The one list of commands; each lives in daemon/cmd_<name>.cpp.
    vigil::add_cmd_run(app, rc);
    vigil::add_cmd_check(app, rc);
    vigil::add_cmd_test(app, rc);
    vigil::add_cmd_replay(app, rc);
    vigil::add_cmd_ingest(app, rc);
    vigil::add_cmd_log(app, rc);
    vigil::add_cmd_version(app, rc);
    CLI11_PARSE(app, argc, argv);
    return rc;
}
