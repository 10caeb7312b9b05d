// bench_expr: compiled expression evaluation on pre-parsed events, one core.
//
// Target (rules issue): >= 50M simple comparisons per second (cmp/s: evaluations
// times the comparisons each one runs, as && stops early). Each compiled case
// is paired with a hand-written C++ baseline doing the same field lookup and
// compare through JsonRef, so the ratio shows what the expression layer costs.
// Figures are per CPU-second of the benchmark thread. Prints a table; exits 1
// when a target is missed. Usage: bench_expr [substring of the cases to run]
#include <ctime>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "rules/expr.h"

using namespace vigil;

namespace {

// CPU time of this thread: on a shared machine wall time would measure the neighbours.
double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<Event> make_events(const char* kind, size_t n) {
    std::vector<Event> events(n);
    for (size_t i = 0; i < n; ++i) {
        Event& e = events[i];
        char buf[256];
        if (std::string(kind) == "sensor") {
            std::snprintf(buf, sizeof buf,
                          R"({"device":"d%zu","metric":"temperature","temp":%.1f,"unit":"C","ts":%zu})", i % 50,
                          60.0 + static_cast<double>(i % 41), 1700000000000 + i);
        } else {
            std::snprintf(buf, sizeof buf,
                          R"({"card_id":"c%zu","amount":%.2f,"merchant":"m%zu","country":"FR","ts":%zu})", i % 97,
                          static_cast<double>(i % 7) * 0.75, i % 5, 1700000000000 + i);
        }
        e.doc.parse(buf);
        e.time = static_cast<int64_t>(1700000000000 + i);
    }
    return events;
}

size_t matches(const std::vector<Event>& events, const std::function<bool(const Event&)>& f) {
    size_t h = 0;
    for (const Event& e : events) h += f(e) ? 1 : 0;
    return h;
}

// Evaluations per second: best of three timed runs over the events, round-robin.
double rate(const std::vector<Event>& events, const std::function<bool(const Event&)>& f) {
    double best = 0;
    size_t sink = 0;
    for (int round = 0; round < 3; ++round) {
        size_t n = 0, h = 0;
        double t0 = cpu_seconds();
        double secs = 0;
        do {
            for (int rep = 0; rep < 64; ++rep)
                for (const Event& e : events) h += f(e) ? 1 : 0;
            n += 64 * events.size();
            secs = cpu_seconds() - t0;
        } while (secs < 0.25);
        best = std::max(best, static_cast<double>(n) / secs);
        sink += h;
    }
    if (sink == 1) std::printf(" ");  // keeps the loop's result observable
    return best;
}

struct Row {
    std::string name;
    double per_sec;
    double target;  // 0: none
    double baseline;  // 0: none
    double comparisons;  // comparisons evaluated per evaluation (&& stops early); 0: not counted
};

}  // namespace

int main(int argc, char** argv) {
    std::string only = argc > 1 ? argv[1] : "";  // run only the cases containing this text
    auto sensors = make_events("sensor", 1024);
    auto tx = make_events("tx", 1024);
    std::vector<Row> rows;
    bool ok = true;
    std::string scratch;
    scratch.reserve(4096);

    auto compiled = [&](const char* text) {
        Diagnostics d;
        auto e = Expr::compile(text, ExprScope{}, SourcePos{"bench", 1, 1}, d);
        if (!e) {
            std::fprintf(stderr, "%s", d.to_string().c_str());
            std::exit(2);
        }
        return e;
    };
    auto run = [&](const std::vector<Event>& events, const char* text, double target,
                   const std::function<bool(const Event&)>& baseline,
                   const std::function<double(const Event&)>& comparisons = nullptr) {
        if (std::string(text).find(only) == std::string::npos) return;
        ExprPtr e = compiled(text);
        EvalContext ctx;
        ctx.scratch = &scratch;
        auto eval = [&](const Event& ev) {
            ctx.event = &ev;
            return e->test(ctx);
        };
        double r = rate(events, eval);
        double b = 0;
        if (baseline) {
            b = rate(events, baseline);
            size_t hits = matches(events, eval), base_hits = matches(events, baseline);
            if (hits != base_hits || hits == 0) {
                std::fprintf(stderr, "%s: %zu matches, baseline %zu\n", text, hits, base_hits);
                ok = false;
            }
        }
        double cmp = 0;
        if (comparisons) {
            for (const Event& ev : events) cmp += comparisons(ev);
            cmp /= static_cast<double>(events.size());
        }
        rows.push_back({text, r, target, b, cmp});
        if (target > 0 && r * cmp < target) ok = false;
    };

    run(sensors, "temp > 90", 50e6, [](const Event& e) {
        JsonRef t = e.root()["temp"];
        return t.is_number() && t.as_number() > 90;
    }, [](const Event&) { return 1.0; });
    run(tx, "amount < 2.0 && merchant == \"m1\"", 50e6, [](const Event& e) {
        JsonRef a = e.root()["amount"];
        if (!a.is_number() || !(a.as_number() < 2.0)) return false;
        JsonRef m = e.root()["merchant"];
        return m.is_string() && m.as_string() == "m1";
    }, [](const Event& e) { return e.root()["amount"].as_number() < 2.0 ? 2.0 : 1.0; });
    run(sensors, "metric == \"temperature\" && device in [\"d1\", \"d2\", \"d3\"]", 0, nullptr);
    run(tx, "lower(country) == \"fr\" && amount * 2 >= 3 && exists(card_id)", 0, nullptr);
    run(sensors, "temp > 90 ? \"hot\" : \"ok\"", 0, nullptr);
    run(tx, "merchant matches \"^m[12]$\"", 0, nullptr);

    std::printf("%-58s %10s %10s %8s %7s\n", "expression (one core)", "evals/s", "cmp/s", "target", "vs C++");
    for (const auto& r : rows) {
        char cmp[32] = "-", target[32] = "-", ratio[32] = "-";
        if (r.comparisons > 0) std::snprintf(cmp, sizeof cmp, "%.1fM", r.per_sec * r.comparisons / 1e6);
        if (r.target > 0) std::snprintf(target, sizeof target, "%.0fM", r.target / 1e6);
        if (r.baseline > 0) std::snprintf(ratio, sizeof ratio, "%.2fx", r.per_sec / r.baseline);
        std::printf("%-58s %9.1fM %10s %8s %7s\n", r.name.c_str(), r.per_sec / 1e6, cmp, target, ratio);
        if (r.baseline > 0) {
            std::snprintf(cmp, sizeof cmp, "%.1fM", r.baseline * r.comparisons / 1e6);
            std::printf("%-58s %9.1fM %10s %8s %7s\n", "  baseline: hand-written C++ lookup + compare",
                        r.baseline / 1e6, cmp, "-", "1.00x");
        }
    }
    std::printf("%s\n", ok ? "OK" : "FAILED: a target was missed or results differ");
    return ok ? 0 : 1;
}
