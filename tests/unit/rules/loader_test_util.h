#pragma once
// Helpers shared by the rule loader tests: load YAML text with a fixed file name
// and a small set of config streams, and read back errors or warnings as text.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "rules/rule_loader.h"

namespace vigil::test {

inline std::vector<StreamSpec> two_streams() {
    StreamSpec tx;
    tx.name = "transactions";
    StreamSpec s;
    s.name = "sensors";
    return {tx, s};
}

struct Loaded {
    LoadedRules rules;
    Diagnostics diags;

    // Only the errors (or only the warnings), one `file:line:col: ...` per line.
    std::string errors() const { return only(Diagnostic::Severity::Error); }
    std::string warnings() const { return only(Diagnostic::Severity::Warning); }
    const Rule& rule(size_t i = 0) const {
        REQUIRE_MESSAGE(rules.rules, diags.to_string());
        REQUIRE(i < rules.rules->rules.size());
        return *rules.rules->rules[i];
    }

private:
    std::string only(Diagnostic::Severity sev) const {
        std::string s;
        for (const auto& d : diags.items())
            if (d.severity == sev) s += d.to_string() + "\n";
        return s;
    }
};

inline Loaded load(const std::string& yaml, const std::vector<StreamSpec>& streams = two_streams(),
                   const std::string& file = "r.yaml") {
    Loaded l;
    l.rules = load_rules_text(yaml, file, streams, l.diags);
    return l;
}

}  // namespace vigil::test
