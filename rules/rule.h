#pragma once
// The rule model of SPEC section 3: plain structs, filled by the rule loader
// (rules/rule_loader.h) after validation, read by the runtimes in patterns/.
// A Rule is immutable once built; a RuleSet is an immutable collection swapped
// atomically on hot reload.
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rules/diagnostics.h"
#include "rules/event.h"
#include "rules/expr.h"

namespace vigil {

constexpr uint32_t kUnbounded = std::numeric_limits<uint32_t>::max();

enum class Contiguity { Strict, Relaxed, Any };
enum class WithinType { FirstAndLast, PreviousAndCurrent };
enum class SkipStrategy { NoSkip, ToNext, PastLastEvent, ToFirst, ToLast };

struct StageSpec {
    std::string name;
    SourcePos pos;
    ExprPtr where;                                // null: every event qualifies
    Contiguity contiguity = Contiguity::Relaxed;  // to the previous stage
    uint32_t min_times = 1;                       // times: N | N..M | N+  (optional: true makes min 0)
    uint32_t max_times = 1;                       // kUnbounded for N+
    bool optional = false;
    bool greedy = false;
    Contiguity inner = Contiguity::Relaxed;       // between repetitions of a looping stage
    ExprPtr until;                                // stop condition of a looping stage
    bool negated = false;                         // `not: true`
    bool looping() const { return max_times > 1; }
};

struct PatternSpec {
    std::vector<StageSpec> stages;
    std::optional<int64_t> within_ms;
    WithinType within_type = WithinType::FirstAndLast;
    SkipStrategy skip = SkipStrategy::NoSkip;
    std::string skip_stage;  // for ToFirst / ToLast
    uint32_t max_partial_matches = 1000;  // per key

    // The stages a match can start at, in order: the first stage that is not
    // negated, and the ones after it while the stage before may match no event
    // (optional). Every event is tested against these; later stages only when a key
    // has a partial match (patterns/nfa.cpp start(), rules/precomputed.h).
    std::vector<uint32_t> start_stages() const {
        std::vector<uint32_t> out;
        for (uint32_t j = 0; j < stages.size(); ++j) {
            if (stages[j].negated) continue;  // a pattern does not start with absence
            out.push_back(j);
            if ((stages[j].optional ? 0 : stages[j].min_times) > 0) break;
        }
        return out;
    }
};

enum class WindowType { Tumbling, Hopping, Sliding, Session, Count };
enum class EmitWhen { OnClose, OnUpdate };

struct AggregateSpec {
    std::string name;      // the key under `aggregate:`, visible to `having` and `emit.payload`
    std::string function;  // count sum avg min max first last distinct stddev collect
    ExprPtr arg;           // null for count()
    SourcePos pos;
};

struct WindowSpec {
    WindowType type = WindowType::Tumbling;
    int64_t size_ms = 0;     // tumbling, hopping, sliding
    int64_t advance_ms = 0;  // hopping
    int64_t gap_ms = 0;      // session
    uint64_t count_size = 0;   // count
    uint64_t count_slide = 0;  // count (0: = size, i.e. tumbling by count)
    int64_t grace_ms = 0;
    std::vector<AggregateSpec> aggregates;
    ExprPtr having;  // scope: vars = aggregate names in order
    EmitWhen emit_when = EmitWhen::OnClose;
};

struct EmitSpec {
    std::string topic;  // template; "" = the config's alerts.topic
    std::vector<std::pair<std::string, ExprPtr>> payload;
    bool timeouts = false;
    int64_t throttle_ms = 0;
    int qos = -1;  // -1 = the config's alerts.qos
};

enum class RuleBody { Pattern, Window, Lua };
enum class StateOnChange { Reset, Keep };

struct Rule {
    std::string id;
    std::string description;
    std::string severity = "medium";
    std::vector<std::string> tags;
    bool enabled = true;
    std::string stream;                // "" in replay --input / tests: any
    std::vector<FieldPath> key;        // empty: the stream's key
    ExprPtr where;
    RuleBody body = RuleBody::Pattern;
    PatternSpec pattern;
    WindowSpec window;
    std::string lua_source;            // whole-rule Lua or helper functions
    std::shared_ptr<LuaProgram> lua;   // compiled per rule version; null when no Lua
    EmitSpec emit;
    std::string late_topic;
    StateOnChange state_on_change = StateOnChange::Reset;
    int64_t warm_start_ms = 0;  // hot reload: a fresh runtime first replays this much of the log (0: starts empty)
    uint32_t max_keys = 100000;
    std::string version;  // 8 hex digits: hash of the normalized definition
    SourcePos pos;        // where `rule:` was written
};
using RulePtr = std::shared_ptr<const Rule>;

// An immutable set of rules, built once and shared by the workers.
struct RuleSet {
    std::vector<RulePtr> rules;
    const Rule* find(std::string_view id) const {
        for (const auto& r : rules)
            if (r->id == id) return r.get();
        return nullptr;
    }
};
using RuleSetPtr = std::shared_ptr<const RuleSet>;

}  // namespace vigil
