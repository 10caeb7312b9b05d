// Until the expression evaluator (rules/expr.cpp) is on this branch, unit_patterns
// carries weak definitions of the two Value members the runtime calls. They are
// weak, so the real definitions win as soon as the rules library provides them.
#include "rules/expr.h"

namespace vigil {

__attribute__((weak)) bool Value::truthy() const {
    switch (kind) {
    case Kind::Bool: return boolean;
    case Kind::Number: return number != 0;
    case Kind::String: return !str.empty();
    case Kind::Json: return true;
    default: return false;
    }
}

__attribute__((weak)) void Value::write_json(std::string& out) const {
    switch (kind) {
    case Kind::Bool: out += boolean ? "true" : "false"; break;
    case Kind::Number: json_number(out, number); break;
    case Kind::String: json_escape(out, str); break;
    case Kind::Json: json.write(out); break;
    default: out += "null"; break;
    }
}

}  // namespace vigil
