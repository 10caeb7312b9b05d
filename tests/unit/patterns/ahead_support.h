#pragma once
// Two runtimes of one rule fed the same events: `with` gets each event after
// `ahead` filled in what is read ahead of the engine (rules/precomputed.h), `without`
// gets it plain. compare() flushes both and checks they raised and counted the same.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "patterns/runtime.h"

namespace vigil::rules_test {

struct AheadTwins {
    explicit AheadTwins(const RulePtr& rule) : with(make_runtime(rule, clock)), without(make_runtime(rule, clock)) {}

    // Feeds `json` under `key` at `time`; returns the event `with` got (after `ahead`):
    // shared, since a runtime that keeps no state for it has let it go.
    template <class Ahead>
    EventPtr feed(const std::string& json, const std::string& key, int64_t time, Ahead&& ahead) {
        auto a = std::make_shared<Event>(), b = std::make_shared<Event>();
        REQUIRE(a->doc.parse(json));
        REQUIRE(b->doc.parse(json));
        a->key = b->key = key;
        a->time = b->time = time;
        ahead(*a);
        with->on_event(a, with_sink);
        without->on_event(b, without_sink);
        return a;
    }

    // Flushes both; the same alerts (ids, window values) and counters. Returns the alerts.
    size_t compare() {
        with->on_watermark(INT64_MAX, with_sink);
        without->on_watermark(INT64_MAX, without_sink);
        REQUIRE(with_sink.alerts.size() == without_sink.alerts.size());
        for (size_t i = 0; i < with_sink.alerts.size(); ++i) {
            CHECK(with_sink.alerts[i].id == without_sink.alerts[i].id);
            CHECK(with_sink.alerts[i].values_json == without_sink.alerts[i].values_json);
        }
        CHECK(with->counters().evaluations == without->counters().evaluations);
        CHECK(with->counters().matches == without->counters().matches);
        CHECK(with->counters().errors == without->counters().errors);
        CHECK(with->key_count() == without->key_count());
        return with_sink.alerts.size();
    }

    ManualClock clock;
    VectorAlertSink with_sink, without_sink;
    std::unique_ptr<RuleRuntime> with, without;
};

}  // namespace vigil::rules_test
