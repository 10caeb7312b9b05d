// vigil version: our version and the versions of the libraries we run with.
#include <lua.h>
#include <mosquitto.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>

#include "daemon/commands.h"
#include "storage/version.h"

namespace vigil {

void add_cmd_version(CLI::App& app, int& rc) {
    auto* cmd = app.add_subcommand("version", "print the version of vigil and of the libraries it runs with");
    cmd->callback([&rc] {
        int maj = 0, min = 0, rev = 0;
        mosquitto_lib_version(&maj, &min, &rev);
        std::printf("vigil %s\n", VIGIL_VERSION);
        std::printf("libmosquitto %d.%d.%d\n", maj, min, rev);
        std::printf("%s\n", lmdb_version_string());
        std::printf("%s\n", LUA_RELEASE);
        std::printf("yaml-cpp %s\n", VIGIL_YAML_CPP_VERSION);
        rc = 0;
    });
}

}  // namespace vigil
