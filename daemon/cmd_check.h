#pragma once
// vigil check, as a function (daemon/cmd_check.cpp): validates a config and rule
// files or folders together, in one pass.
//
// Every problem goes to `err` as `file:line:col: error|warning: message`, sorted by
// file (in the order read), line and column, then a count line; on success `out`
// gets one summary line ("ok: 1 config, 7 rules in 3 files, 12 tests"). Returns the
// exit code: 1 when there is any error (or nothing to check), else 0 (warnings
// alone do not fail). `config` "" means no config: rule streams are not checked.
// `paths` empty means the config's `rules:`.
#include <string>
#include <vector>

namespace vigil {

int check_files(const std::string& config, const std::vector<std::string>& paths, std::string& out,
                std::string& err);

}  // namespace vigil
