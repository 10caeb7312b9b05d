#pragma once
// Helpers for engine tests with real rules: a stream "s" and rules from YAML through
// the real loader (a loader error fails the test with its diagnostics).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rules/diagnostics.h"
#include "rules/rule_loader.h"

namespace vigil::rules_test {

// Stream "s" keyed by the member `key_field`.
inline StreamSpec stream_s(const std::string& key_field = "key", int64_t max_out_of_order_ms = 0) {
    StreamSpec s;
    s.name = "s";
    s.max_out_of_order_ms = max_out_of_order_ms;
    FieldPath p;
    FieldPath::parse(key_field, p, nullptr);
    s.key.push_back(p);
    return s;
}

inline RuleSetPtr load_yaml(const std::string& yaml, const std::vector<StreamSpec>& streams = {},
                            const std::string& file = "r.yaml") {
    Diagnostics diags;
    LoadedRules lr = load_rules_text(yaml, file, streams, diags);
    INFO(diags.to_string());
    REQUIRE(lr.rules);
    return lr.rules;
}

}  // namespace vigil::rules_test
