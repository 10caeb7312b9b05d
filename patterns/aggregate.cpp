#include "patterns/aggregate.h"

#include <cmath>

namespace vigil {

namespace {
using agg_detail::json_value;
using agg_detail::welford_add;
using agg_detail::welford_remove;

bool keeps_text(AggFn f) {
    return f == AggFn::First || f == AggFn::Last || f == AggFn::Distinct || f == AggFn::Collect;
}

std::string distinct_key(const Sample& s) {
    std::string k;
    s.write_json(k);
    return k;
}

Value number_or_null(uint64_t n, double v) { return n ? Value::of(v) : Value::null(); }

void write_number_or_null(std::string& out, uint64_t n, double v) {
    if (n && std::isfinite(v)) {
        json_number(out, v);
    } else {
        out += "null";
    }
}

double pop_stddev(uint64_t n, double m2) { return n ? std::sqrt(m2 / static_cast<double>(n)) : 0; }

}  // namespace

std::optional<AggFn> parse_agg_fn(std::string_view f, bool has_arg) {
    if (f == "count") return has_arg ? AggFn::CountExpr : AggFn::Count;
    if (!has_arg) return std::nullopt;
    if (f == "sum") return AggFn::Sum;
    if (f == "avg") return AggFn::Avg;
    if (f == "min") return AggFn::Min;
    if (f == "max") return AggFn::Max;
    if (f == "first") return AggFn::First;
    if (f == "last") return AggFn::Last;
    if (f == "distinct") return AggFn::Distinct;
    if (f == "stddev") return AggFn::Stddev;
    if (f == "collect") return AggFn::Collect;
    return std::nullopt;
}

void Sample::write_json(std::string& out) const {
    switch (kind) {
    case Value::Kind::Missing:
    case Value::Kind::Null: out += "null"; break;
    case Value::Kind::Bool: out += boolean ? "true" : "false"; break;
    case Value::Kind::Number: json_number(out, number); break;
    case Value::Kind::String: json_escape(out, text); break;
    case Value::Kind::Json: out += text; break;
    }
}

Value Sample::to_value(JsonDoc& doc) const {
    switch (kind) {
    case Value::Kind::Missing:
    case Value::Kind::Null: return Value::null();
    case Value::Kind::Bool: return Value::of(boolean);
    case Value::Kind::Number: return Value::of(number);
    case Value::Kind::String: return Value::of(std::string_view(text));
    case Value::Kind::Json: return json_value(doc, text);
    }
    return Value::null();
}

bool AggPlan::build(const std::vector<AggregateSpec>& specs, AggPlan& out, std::string* error) {
    out = AggPlan{};
    for (const auto& s : specs) {
        auto fn = parse_agg_fn(s.function, s.arg != nullptr);
        if (!fn) {
            if (error) *error = "unknown aggregate function \"" + s.function + "\" in \"" + s.name + "\"";
            return false;
        }
        int32_t same = -1;
        for (size_t j = 0; s.arg && same < 0 && j < out.args.size(); ++j) {
            const ExprPtr& a = out.args[j];
            // A copied sample carries text only when the earlier function kept it.
            if (a && a->source() == s.arg->source() && s.arg->source().find("lua.") == std::string::npos &&
                (!keeps_text(*fn) || keeps_text(out.fns[j])))
                same = static_cast<int32_t>(j);
        }
        out.fns.push_back(*fn);
        out.names.push_back(s.name);
        out.args.push_back(s.arg);
        out.same_arg.push_back(same);
        out.keeps.push_back(keeps_text(*fn));
        std::string_view name;
        out.member.push_back(s.arg && s.arg->member_read(name) ? std::optional<std::string_view>(name) : std::nullopt);
    }
    return true;
}

void make_samples(const AggPlan& plan, const EvalContext& ctx, std::vector<Sample>& out,
                  const PresetNumbers* preset) {
    const size_t n = plan.size();
    if (out.size() != n) out.resize(n);
    for (size_t i = 0; i < n; ++i) {
        Sample& s = out[i];
        // A sample of a function that keeps no text never holds any: clearing is for the others.
        const bool keeps = plan.keeps[i];
        if (keeps) s.text.clear();
        if (!plan.args[i]) {
            s.kind = Value::Kind::Null;
            continue;
        }
        if (plan.same_arg[i] >= 0) {
            const Sample& same = out[static_cast<size_t>(plan.same_arg[i])];
            s.kind = same.kind;
            s.boolean = same.boolean;
            s.number = same.number;
            if (keeps) s.text = same.text;
            continue;
        }
        if (preset && preset->slot[i] >= 0 && ((preset->known >> preset->slot[i]) & 1)) {  // read ahead
            s.kind = Value::Kind::Number;
            s.boolean = false;
            s.number = preset->nums[preset->slot[i]];
            continue;
        }
        if (plan.member[i] && ctx.event) {  // a number member: its value, as eval() would give it
            const JsonRef v = ctx.event->root()[*plan.member[i]];
            if (v.is_number()) {
                s.kind = Value::Kind::Number;
                s.boolean = false;
                s.number = v.as_number();
                continue;
            }
        }
        Value v = plan.args[i]->eval(ctx);
        s.kind = v.kind;
        s.boolean = v.boolean;
        s.number = v.number;
        if (!keeps) continue;
        if (v.kind == Value::Kind::String) s.text.assign(v.str);
        if (v.kind == Value::Kind::Json) v.json.write(s.text);
    }
}

// ---- Accumulator ----

const AggText& AggCell::text() const {
    static const AggText kNone;
    return kept ? *kept : kNone;
}

Accumulator::Accumulator(const AggPlan& plan) : cells_(plan.size()) {}

Accumulator::Accumulator(const AggPlan& plan, std::vector<AggCell>&& cells) : cells_(std::move(cells)) {
    cells_.clear();
    cells_.resize(plan.size());
}

void Accumulator::add_kept(AggFn f, AggCell& c, const Sample& s) {
    if (!s.present()) return;
    switch (f) {
    case AggFn::Stddev:
        if (s.numeric()) welford_add(c.n, c.sum, c.m2, s.number);
        break;
    case AggFn::First:
        if (c.n++ == 0) c.text().first = s;
        break;
    case AggFn::Last:
        ++c.n;
        c.text().last = s;
        break;
    case AggFn::Distinct: {
        auto& d = c.text().distinct;
        if (!d) d = std::make_unique<std::unordered_set<std::string>>();
        d->insert(distinct_key(s));
        break;
    }
    case AggFn::Collect: {
        auto& v = c.text().collect;
        if (!v) v = std::make_unique<std::vector<Sample>>();
        if (v->size() < kCollectCap) v->push_back(s);
        break;
    }
    default: break;  // the numeric functions: add()
    }
}

void Accumulator::merge(const AggPlan& plan, Accumulator&& later) {
    events_ += later.events_;
    for (size_t i = 0; i < plan.size(); ++i) {
        AggCell& a = cells_[i];
        AggCell& b = later.cells_[i];
        switch (plan.fns[i]) {
        case AggFn::Count:
        case AggFn::CountExpr:
        case AggFn::Sum:
        case AggFn::Avg: a.n += b.n; a.sum += b.sum; break;
        case AggFn::Min:
        case AggFn::Max:
            if (b.n && (!a.n || b.min < a.min)) a.min = b.min;
            if (b.n && (!a.n || b.max > a.max)) a.max = b.max;
            a.n += b.n;
            break;
        case AggFn::Stddev: {
            if (!b.n) break;
            if (!a.n) { a.n = b.n; a.sum = b.sum; a.m2 = b.m2; break; }
            double na = static_cast<double>(a.n), nb = static_cast<double>(b.n), n = na + nb;
            double delta = b.sum - a.sum;
            a.sum += delta * nb / n;
            a.m2 += b.m2 + delta * delta * na * nb / n;
            a.n += b.n;
            break;
        }
        case AggFn::First:
            if (!a.n && b.kept) a.text().first = std::move(b.kept->first);
            a.n += b.n;
            break;
        case AggFn::Last:
            if (b.n && b.kept) a.text().last = std::move(b.kept->last);
            a.n += b.n;
            break;
        case AggFn::Distinct: {
            if (!b.kept || !b.kept->distinct) break;
            auto& d = a.text().distinct;
            if (!d) { d = std::move(b.kept->distinct); break; }
            d->merge(*b.kept->distinct);
            break;
        }
        case AggFn::Collect: {
            if (!b.kept || !b.kept->collect) break;
            auto& v = a.text().collect;
            if (!v) { v = std::move(b.kept->collect); break; }
            for (auto& s : *b.kept->collect) {
                if (v->size() >= kCollectCap) break;
                v->push_back(std::move(s));
            }
            break;
        }
        }
    }
}

void Accumulator::write_values(const AggPlan& plan, std::string& out) const {
    out += '{';
    for (size_t i = 0; i < plan.size(); ++i) {
        const AggCell& c = cells_[i];
        if (i) out += ',';
        json_escape(out, plan.names[i]);
        out += ':';
        switch (plan.fns[i]) {
        case AggFn::Count:
        case AggFn::CountExpr: json_number(out, static_cast<double>(c.n)); break;
        case AggFn::Sum: json_number(out, c.sum); break;
        case AggFn::Avg: write_number_or_null(out, c.n, c.n ? c.sum / static_cast<double>(c.n) : 0); break;
        case AggFn::Min: write_number_or_null(out, c.n, c.min); break;
        case AggFn::Max: write_number_or_null(out, c.n, c.max); break;
        case AggFn::Stddev: write_number_or_null(out, c.n, pop_stddev(c.n, c.m2)); break;
        case AggFn::First: c.text().first.write_json(out); break;
        case AggFn::Last: c.text().last.write_json(out); break;
        case AggFn::Distinct: {
            const auto& d = c.text().distinct;
            json_number(out, d ? static_cast<double>(d->size()) : 0);
            break;
        }
        case AggFn::Collect:
            out += '[';
            if (const auto& v = c.text().collect) {
                for (size_t k = 0; k < v->size(); ++k) {
                    if (k) out += ',';
                    (*v)[k].write_json(out);
                }
            }
            out += ']';
            break;
        }
    }
    out += '}';
}

void Accumulator::values(const AggPlan& plan, std::vector<Value>& out, std::vector<JsonDoc>& docs) const {
    out.resize(plan.size());
    if (docs.size() < plan.size()) docs.resize(plan.size());
    for (size_t i = 0; i < plan.size(); ++i) {
        const AggCell& c = cells_[i];
        switch (plan.fns[i]) {
        case AggFn::Count:
        case AggFn::CountExpr: out[i] = Value::of(static_cast<double>(c.n)); break;
        case AggFn::Sum: out[i] = Value::of(c.sum); break;
        case AggFn::Avg: out[i] = number_or_null(c.n, c.n ? c.sum / static_cast<double>(c.n) : 0); break;
        case AggFn::Min: out[i] = number_or_null(c.n, c.min); break;
        case AggFn::Max: out[i] = number_or_null(c.n, c.max); break;
        case AggFn::Stddev: out[i] = number_or_null(c.n, pop_stddev(c.n, c.m2)); break;
        case AggFn::First: out[i] = c.text().first.to_value(docs[i]); break;
        case AggFn::Last: out[i] = c.text().last.to_value(docs[i]); break;
        case AggFn::Distinct: {
            const auto& d = c.text().distinct;
            out[i] = Value::of(d ? static_cast<double>(d->size()) : 0.0);
            break;
        }
        case AggFn::Collect: {
            std::string text = "[";
            if (const auto& v = c.text().collect) {
                for (size_t k = 0; k < v->size(); ++k) {
                    if (k) text += ',';
                    (*v)[k].write_json(text);
                }
            }
            text += ']';
            out[i] = json_value(docs[i], text);
            break;
        }
        }
    }
}

size_t Accumulator::bytes() const {
    size_t b = sizeof(*this) + cells_.capacity() * sizeof(AggCell);
    for (const auto& c : cells_) {
        if (!c.kept) continue;
        const AggText& t = *c.kept;
        b += sizeof(AggText) + t.first.text.capacity() + t.last.text.capacity();
        if (t.distinct)
            for (const auto& s : *t.distinct) b += s.capacity() + 32;
        if (t.collect)
            for (const auto& s : *t.collect) b += sizeof(Sample) + s.text.capacity();
    }
    return b;
}

}  // namespace vigil

namespace vigil::agg_detail {

void welford_add(uint64_t& n, double& mean, double& m2, double x) {
    ++n;
    double delta = x - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (x - mean);
}

void welford_remove(uint64_t& n, double& mean, double& m2, double x) {
    if (n <= 1) {
        n = 0;
        mean = m2 = 0;
        return;
    }
    double old_mean = (static_cast<double>(n) * mean - x) / static_cast<double>(n - 1);
    m2 -= (x - old_mean) * (x - mean);
    if (m2 < 0) m2 = 0;
    mean = old_mean;
    --n;
}

Value json_value(JsonDoc& doc, const std::string& text) {
    if (!doc.parse(text)) return Value::null();
    Value v;
    v.kind = Value::Kind::Json;
    v.json = doc.root();
    return v;
}

}  // namespace vigil::agg_detail
