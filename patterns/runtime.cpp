#include "patterns/runtime.h"

#include <chrono>

namespace vigil {

// Each body's factory lives beside its runtime.
std::unique_ptr<RuleRuntime> make_pattern_runtime(RulePtr rule, const Clock& clock);  // patterns/nfa.cpp
std::unique_ptr<RuleRuntime> make_window_runtime(RulePtr rule, const Clock& clock);   // patterns/window.cpp
std::unique_ptr<RuleRuntime> make_lua_runtime(RulePtr rule, const Clock& clock);      // patterns/lua_runtime.cpp

int64_t SystemClock::now_ms() const {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::unique_ptr<RuleRuntime> make_runtime(RulePtr rule, const Clock& clock) {
    switch (rule->body) {
    case RuleBody::Pattern: return make_pattern_runtime(std::move(rule), clock);
    case RuleBody::Window: return make_window_runtime(std::move(rule), clock);
    case RuleBody::Lua: return make_lua_runtime(std::move(rule), clock);
    }
    return nullptr;
}

}  // namespace vigil
