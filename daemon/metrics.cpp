#include "daemon/metrics.h"

#include <cmath>
#include <cstdio>

namespace vigil {

namespace {

void escape_into(std::string& out, const std::string& s, bool quote_too) {
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '"' && quote_too) out += "\\\"";
        else out += c;
    }
}

bool valid_labels(const MetricLabels& labels) {
    for (const auto& [k, v] : labels) {
        (void)v;
        if (!MetricsRegistry::valid_name(k) || k.find(':') != std::string::npos || k.rfind("__", 0) == 0) return false;
    }
    return true;
}

}  // namespace

std::string format_metric_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f", v);
        return buf;
    }
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

bool MetricsRegistry::valid_name(const std::string& name) {
    if (name.empty()) return false;
    for (size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

MetricsRegistry::Family* MetricsRegistry::family(const std::string& name) {
    for (auto& f : families_)
        if (f.name == name) return &f;
    return nullptr;
}

const MetricsRegistry::Family* MetricsRegistry::family(const std::string& name) const {
    for (const auto& f : families_)
        if (f.name == name) return &f;
    return nullptr;
}

MetricsRegistry::Sample* MetricsRegistry::sample(Family& f, const MetricLabels& labels) {
    for (auto& s : f.samples)
        if (s.labels == labels) return &s;
    f.samples.push_back({labels, 0});
    return &f.samples.back();
}

bool MetricsRegistry::declare(const std::string& name, MetricType type, const std::string& help) {
    if (!valid_name(name)) return false;
    std::lock_guard lk(mu_);
    if (Family* f = family(name)) return f->type == type;
    families_.push_back({name, type, help, {}});
    return true;
}

bool MetricsRegistry::set(const std::string& name, const MetricLabels& labels, double value) {
    if (!valid_labels(labels)) return false;
    std::lock_guard lk(mu_);
    Family* f = family(name);
    if (!f) return false;
    sample(*f, labels)->value = value;
    return true;
}

bool MetricsRegistry::add(const std::string& name, const MetricLabels& labels, double delta) {
    if (!valid_labels(labels)) return false;
    std::lock_guard lk(mu_);
    Family* f = family(name);
    if (!f || (f->type == MetricType::Counter && delta < 0)) return false;
    sample(*f, labels)->value += delta;
    return true;
}

double MetricsRegistry::value(const std::string& name, const MetricLabels& labels) const {
    std::lock_guard lk(mu_);
    const Family* f = family(name);
    if (!f) return 0;
    for (const auto& s : f->samples)
        if (s.labels == labels) return s.value;
    return 0;
}

std::string MetricsRegistry::render() const {
    std::lock_guard lk(mu_);
    std::string out;
    for (const auto& f : families_) {
        out += "# HELP " + f.name + " ";
        escape_into(out, f.help, false);
        out += "\n# TYPE " + f.name + (f.type == MetricType::Counter ? " counter\n" : " gauge\n");
        for (const auto& s : f.samples) {
            out += f.name;
            if (!s.labels.empty()) {
                out += '{';
                for (size_t i = 0; i < s.labels.size(); ++i) {
                    if (i) out += ',';
                    out += s.labels[i].first + "=\"";
                    escape_into(out, s.labels[i].second, true);
                    out += '"';
                }
                out += '}';
            }
            out += ' ' + format_metric_value(s.value) + '\n';
        }
    }
    return out;
}

}  // namespace vigil
