#pragma once
// A small registry of counters and gauges with labels, rendered in the Prometheus
// text exposition format (version 0.0.4).
//
// Guarantees: families render in the order they were first declared, samples in
// the order their label sets were first seen; label values are escaped (\\, \",
// \n); metric and label names are checked against [a-zA-Z_:][a-zA-Z0-9_:]* and a
// bad one is refused (returns false / is skipped), never rendered. A family
// declared twice with another type keeps its first type and the sample is refused.
// Naming (docs/operations.md): vigil_<what>_<unit>[_total]; labels never carry
// device or card ids, only bounded sets (rule, partition, stream, reason).
// Thread rules: every method may be called from any thread (one mutex).
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace vigil {

enum class MetricType { Counter, Gauge };

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class MetricsRegistry {
public:
    // Declares a family (name, type, help). Idempotent; false on a bad name or a type clash.
    bool declare(const std::string& name, MetricType type, const std::string& help);
    // Sets a sample's value (a counter's value is taken as a snapshot of its source).
    bool set(const std::string& name, const MetricLabels& labels, double value);
    // Adds to a sample (starting from 0); a negative delta on a counter is refused.
    bool add(const std::string& name, const MetricLabels& labels, double delta);
    // The current value, or 0 when the sample does not exist.
    double value(const std::string& name, const MetricLabels& labels) const;
    // The Prometheus text format.
    std::string render() const;

    static bool valid_name(const std::string& name);

private:
    struct Sample {
        MetricLabels labels;
        double value = 0;
    };
    struct Family {
        std::string name;
        MetricType type = MetricType::Gauge;
        std::string help;
        std::vector<Sample> samples;
    };
    Family* family(const std::string& name);
    const Family* family(const std::string& name) const;
    Sample* sample(Family& f, const MetricLabels& labels);

    mutable std::mutex mu_;
    std::vector<Family> families_;
};

// "1", "0.25", "NaN", "+Inf": Prometheus number syntax.
std::string format_metric_value(double v);

}  // namespace vigil
