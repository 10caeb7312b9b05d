#include <doctest/doctest.h>

#include "temp_dir.h"

using namespace vigil;

TEST_CASE("errors: opening a data folder that cannot be created names the folder and the cause") {
    test::TempDir tmp;
    std::string err;
    auto log = EventLog::open(test::small_log(tmp.sub("missing-parent/data")), &err);
    CHECK_FALSE(log);
    CHECK(err.find("missing-parent/data") != std::string::npos);
    CHECK(err.find("No such file or directory") != std::string::npos);

    LogOptions many = test::small_log(tmp.sub("data"), 5000);
    CHECK_FALSE(EventLog::open(many, &err));
    CHECK(err.find("between 1 and 1024") != std::string::npos);
}
