// Value helpers and the Expr front door; the compiler lives in expr_compile.cpp,
// expr_parse.cpp and expr_names.cpp, the evaluator in expr_eval.cpp.
#include "rules/expr.h"

#include <cmath>

#include "rules/expr_compile.h"

namespace vigil {

Value Value::from_json(JsonRef r) {
    if (!r.valid()) return missing();
    const JsonDoc::Node& n = r.doc()->node(r.index());
    switch (n.type) {
    case JsonType::Null: return null();
    case JsonType::Bool: return of(n.boolean);
    case JsonType::Number: return of(n.number);
    case JsonType::String: return of(r.doc()->str(n));
    case JsonType::Array:
    case JsonType::Object: {
        Value v;
        v.kind = Kind::Json;
        v.json = r;
        return v;
    }
    }
    return missing();
}

bool Value::truthy() const {
    switch (kind) {
    case Kind::Missing: case Kind::Null: return false;
    case Kind::Bool: return boolean;
    case Kind::Number: return number != 0 && !std::isnan(number);
    case Kind::String: return !str.empty();
    case Kind::Json: return json.size() > 0;
    }
    return false;
}

void Value::write_json(std::string& out) const {
    switch (kind) {
    case Kind::Missing: case Kind::Null: out += "null"; break;
    case Kind::Bool: out += boolean ? "true" : "false"; break;
    case Kind::Number:
        if (std::isfinite(number)) {
            json_number(out, number);
        } else {
            out += "null";  // JSON has no NaN or infinity
        }
        break;
    case Kind::String: json_escape(out, str); break;
    case Kind::Json: json.write(out); break;
    }
}

std::shared_ptr<const Expr> Expr::compile(std::string_view text, const ExprScope& scope, const SourcePos& at,
                                          Diagnostics& diags) {
    expr::Compiler c(text, scope, at, diags);
    auto prog = c.run();
    if (!prog) return nullptr;
    return expr::make_expr(text, std::move(prog));
}

}  // namespace vigil
