// gen_events: writes a deterministic stream of sensor or transaction events as
// JSON lines (for demos, backfill with `vigil ingest`, and benchmarks).
//   gen_events sensors|transactions [--events N] [--keys K] [--seed S] [--step-ms MS] [--disorder-ms MS]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/workload.h"

int main(int argc, char** argv) {
    if (argc < 2 || (std::strcmp(argv[1], "sensors") != 0 && std::strcmp(argv[1], "transactions") != 0)) {
        std::fprintf(stderr,
                     "usage: gen_events sensors|transactions [--events N] [--keys K] [--seed S] [--step-ms MS] "
                     "[--disorder-ms MS]\n");
        return 2;
    }
    vigil::bench::WorkloadOptions o;
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string f = argv[i];
        long long v = std::atoll(argv[i + 1]);
        if (f == "--events") o.events = static_cast<uint64_t>(v);
        else if (f == "--keys") o.keys = static_cast<uint64_t>(v);
        else if (f == "--seed") o.seed = static_cast<uint64_t>(v);
        else if (f == "--step-ms") o.step_ms = v;
        else if (f == "--disorder-ms") o.max_disorder_ms = v;
        else {
            std::fprintf(stderr, "gen_events: unknown flag %s\n", f.c_str());
            return 2;
        }
    }
    auto lines = std::strcmp(argv[1], "sensors") == 0 ? vigil::bench::sensor_events(o)
                                                      : vigil::bench::transaction_events(o);
    for (const auto& l : lines) {
        std::fwrite(l.data(), 1, l.size(), stdout);
        std::fputc('\n', stdout);
    }
    return 0;
}
