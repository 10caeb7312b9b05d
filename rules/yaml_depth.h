#pragma once
// A cheap pre-check of YAML text's nesting depth, so that yaml-cpp (0.7 recurses per
// level and overflows its stack on very deep input) never sees such input.
//
// Guarantees: linear in the text, no allocation beyond one small vector, never
// throws. The depth it measures over-estimates the YAML nesting (block indentation
// levels and same-line `- `, `? `, `key: ` indicators, plus open flow `[`/`{`
// outside quoted scalars, comments and block scalars), so text within the limit
// is safe to parse; real rule and config files use under 15 levels.
// Failure modes: returns false with the position (1-based line and column) where
// the depth first exceeded the limit.
#include <cstdint>
#include <string_view>

namespace vigil {

constexpr int kMaxYamlDepth = 64;

struct YamlDepthError {
    int line = 0;
    int col = 0;
    int depth = 0;
};

bool check_yaml_depth(std::string_view text, int max_depth, YamlDepthError& err);

}  // namespace vigil
