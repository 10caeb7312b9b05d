// libFuzzer target: the rule loader on arbitrary bytes as a rule file (YAML with
// rules, tests, expressions and Lua). Loading must never crash, hang or leak; it
// either builds a RuleSet or reports diagnostics.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rules/rule_loader.h"

using namespace vigil;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::vector<StreamSpec> no_streams;
    std::string text(reinterpret_cast<const char*>(data), size);
    Diagnostics diags;
    LoadedRules loaded = load_rules_text(text, "fuzz.yaml", no_streams, diags);
    // Either a rule set or at least one error, never both missing.
    if (!loaded.rules && !diags.has_errors()) __builtin_trap();
    return 0;
}
