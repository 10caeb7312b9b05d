// MetricsRegistry: Prometheus text rendering, label escaping, name checks.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "daemon/metrics.h"

using namespace vigil;

TEST_CASE("metrics: families render HELP, TYPE and samples in declaration order") {
    MetricsRegistry m;
    REQUIRE(m.declare("vigil_events_received_total", MetricType::Counter, "events in"));
    REQUIRE(m.declare("vigil_storage_map_used_ratio", MetricType::Gauge, "used / size"));
    CHECK(m.set("vigil_storage_map_used_ratio", {}, 0.25));
    CHECK(m.add("vigil_events_received_total", {{"stream", "cards"}, {"partition", "0"}}, 3));
    CHECK(m.add("vigil_events_received_total", {{"stream", "cards"}, {"partition", "0"}}, 2));
    CHECK(m.add("vigil_events_received_total", {{"stream", "doors"}, {"partition", "1"}}, 1));
    CHECK(m.render() ==
          "# HELP vigil_events_received_total events in\n"
          "# TYPE vigil_events_received_total counter\n"
          "vigil_events_received_total{stream=\"cards\",partition=\"0\"} 5\n"
          "vigil_events_received_total{stream=\"doors\",partition=\"1\"} 1\n"
          "# HELP vigil_storage_map_used_ratio used / size\n"
          "# TYPE vigil_storage_map_used_ratio gauge\n"
          "vigil_storage_map_used_ratio 0.25\n");
    CHECK(m.value("vigil_events_received_total", {{"stream", "cards"}, {"partition", "0"}}) == 5);
    CHECK(m.value("vigil_events_received_total", {{"stream", "nope"}}) == 0);
}

TEST_CASE("metrics: label values and help text are escaped") {
    MetricsRegistry m;
    REQUIRE(m.declare("vigil_x", MetricType::Gauge, "a \\ and a\nnewline"));
    REQUIRE(m.set("vigil_x", {{"rule", "a\"b\\c\nd"}}, 1));
    CHECK(m.render() ==
          "# HELP vigil_x a \\\\ and a\\nnewline\n"
          "# TYPE vigil_x gauge\n"
          "vigil_x{rule=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST_CASE("metrics: bad names, bad labels, unknown families and negative counter steps are refused") {
    MetricsRegistry m;
    CHECK_FALSE(m.declare("", MetricType::Gauge, "h"));
    CHECK_FALSE(m.declare("9lives", MetricType::Gauge, "h"));
    CHECK_FALSE(m.declare("vigil-dash", MetricType::Gauge, "h"));
    REQUIRE(m.declare("vigil_c_total", MetricType::Counter, "h"));
    CHECK(m.declare("vigil_c_total", MetricType::Counter, "again"));  // idempotent
    CHECK_FALSE(m.declare("vigil_c_total", MetricType::Gauge, "h"));  // type clash
    CHECK_FALSE(m.add("vigil_c_total", {}, -1));
    CHECK_FALSE(m.set("vigil_unknown", {}, 1));
    CHECK_FALSE(m.set("vigil_c_total", {{"bad-label", "x"}}, 1));
    CHECK_FALSE(m.set("vigil_c_total", {{"__reserved", "x"}}, 1));
    CHECK(m.render() == "# HELP vigil_c_total h\n# TYPE vigil_c_total counter\n");
}

TEST_CASE("metrics: values use Prometheus number syntax") {
    CHECK(format_metric_value(0) == "0");
    CHECK(format_metric_value(1234567890123.0) == "1234567890123");
    CHECK(format_metric_value(-2) == "-2");
    CHECK(format_metric_value(0.5) == "0.5");
    CHECK(format_metric_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
    CHECK(format_metric_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(format_metric_value(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(std::stod(format_metric_value(1.0 / 3)) == doctest::Approx(1.0 / 3).epsilon(1e-15));
}
