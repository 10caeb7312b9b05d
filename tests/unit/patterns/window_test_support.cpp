// Weak stand-ins for the parts of rules/expr.cpp the window runtime calls, so the
// window tests link before the expression compiler is on this branch. A real
// definition in vigil_rules replaces them.
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
