// SlidingAggregates: aggregates over a deque of events that grows at the back
// and shrinks at the front. Sums and Welford moments are updated by adding and
// subtracting; min/max keep monotonic deques so that neither push nor expire
// rescans the window.
#include <cmath>

#include "patterns/aggregate.h"

namespace vigil {

namespace {
using agg_detail::json_value;
using agg_detail::welford_add;
using agg_detail::welford_remove;




}  // namespace

SlidingAggregates::SlidingAggregates(const AggPlan& plan) : cells_(plan.size()) {}

void SlidingAggregates::push(const AggPlan& plan, int64_t time, const std::vector<Sample>& samples) {
    const uint64_t seq = next_seq_++;
    times_.push_back(time);
    for (size_t i = 0; i < plan.size(); ++i) {
        Cell& c = cells_[i];
        const Sample& s = samples[i];
        switch (plan.fns[i]) {
        case AggFn::Count: ++c.n; break;
        case AggFn::CountExpr: if (s.present()) ++c.n; break;
        case AggFn::Sum:
        case AggFn::Avg:
            if (s.numeric()) { ++c.n; c.sum += s.number; }
            break;
        case AggFn::Stddev:
            if (s.numeric()) welford_add(c.n, c.mean, c.m2, s.number);
            break;
        case AggFn::Min:
            if (!s.numeric()) break;
            while (!c.minq.empty() && c.minq.back().second >= s.number) c.minq.pop_back();
            c.minq.emplace_back(seq, s.number);
            break;
        case AggFn::Max:
            if (!s.numeric()) break;
            while (!c.maxq.empty() && c.maxq.back().second <= s.number) c.maxq.pop_back();
            c.maxq.emplace_back(seq, s.number);
            break;
        case AggFn::First:
        case AggFn::Last:
        case AggFn::Collect:
            if (s.present()) c.kept.push_back(seq);
            break;
        case AggFn::Distinct:
            if (s.present()) {
                std::string k;
                s.write_json(k);
                ++c.distinct[k];
            }
            break;
        }
    }
    for (const auto& s : samples) samples_.push_back(s);
}

void SlidingAggregates::remove_front(const AggPlan& plan) {
    const uint64_t seq = front_seq_;
    const size_t width = plan.size();
    for (size_t i = 0; i < width; ++i) {
        Cell& c = cells_[i];
        const Sample& s = sample(seq, i, width);
        switch (plan.fns[i]) {
        case AggFn::Count: --c.n; break;
        case AggFn::CountExpr: if (s.present()) --c.n; break;
        case AggFn::Sum:
        case AggFn::Avg:
            if (!s.numeric()) break;
            c.sum -= s.number;
            if (--c.n == 0) c.sum = 0;  // no drift left behind in an emptied window
            break;
        case AggFn::Stddev:
            if (s.numeric()) welford_remove(c.n, c.mean, c.m2, s.number);
            break;
        case AggFn::Min:
            if (!c.minq.empty() && c.minq.front().first == seq) c.minq.pop_front();
            break;
        case AggFn::Max:
            if (!c.maxq.empty() && c.maxq.front().first == seq) c.maxq.pop_front();
            break;
        case AggFn::First:
        case AggFn::Last:
        case AggFn::Collect:
            if (!c.kept.empty() && c.kept.front() == seq) c.kept.pop_front();
            break;
        case AggFn::Distinct:
            if (s.present()) {
                std::string k;
                s.write_json(k);
                auto it = c.distinct.find(k);
                if (it != c.distinct.end() && --it->second == 0) c.distinct.erase(it);
            }
            break;
        }
    }
    for (size_t i = 0; i < width; ++i) samples_.pop_front();
    times_.pop_front();
    ++front_seq_;
}

void SlidingAggregates::expire(const AggPlan& plan, int64_t bound) {
    while (!times_.empty() && times_.front() <= bound) remove_front(plan);
}

void SlidingAggregates::write_values(const AggPlan& plan, std::string& out, std::vector<Value>& vals,
                                     std::vector<JsonDoc>& docs) const {
    values(plan, vals, docs);
    out += '{';
    for (size_t i = 0; i < plan.size(); ++i) {
        if (i) out += ',';
        json_escape(out, plan.names[i]);
        out += ':';
        const Value& v = vals[i];
        switch (v.kind) {
        case Value::Kind::Missing:
        case Value::Kind::Null: out += "null"; break;
        case Value::Kind::Bool: out += v.boolean ? "true" : "false"; break;
        case Value::Kind::Number:
            if (std::isfinite(v.number)) json_number(out, v.number); else out += "null";
            break;
        case Value::Kind::String: json_escape(out, v.str); break;
        case Value::Kind::Json: v.json.write(out); break;
        }
    }
    out += '}';
}

void SlidingAggregates::values(const AggPlan& plan, std::vector<Value>& out, std::vector<JsonDoc>& docs) const {
    const size_t width = plan.size();
    out.resize(width);
    if (docs.size() < width) docs.resize(width);
    for (size_t i = 0; i < width; ++i) {
        const Cell& c = cells_[i];
        switch (plan.fns[i]) {
        case AggFn::Count:
        case AggFn::CountExpr: out[i] = Value::of(static_cast<double>(c.n)); break;
        case AggFn::Sum: out[i] = Value::of(c.sum); break;
        case AggFn::Avg: out[i] = c.n ? Value::of(c.sum / static_cast<double>(c.n)) : Value::null(); break;
        case AggFn::Stddev:
            out[i] = c.n ? Value::of(std::sqrt(c.m2 / static_cast<double>(c.n))) : Value::null();
            break;
        case AggFn::Min: out[i] = c.minq.empty() ? Value::null() : Value::of(c.minq.front().second); break;
        case AggFn::Max: out[i] = c.maxq.empty() ? Value::null() : Value::of(c.maxq.front().second); break;
        case AggFn::First:
            out[i] = c.kept.empty() ? Value::null() : sample(c.kept.front(), i, width).to_value(docs[i]);
            break;
        case AggFn::Last:
            out[i] = c.kept.empty() ? Value::null() : sample(c.kept.back(), i, width).to_value(docs[i]);
            break;
        case AggFn::Distinct: out[i] = Value::of(static_cast<double>(c.distinct.size())); break;
        case AggFn::Collect: {
            std::string text = "[";
            size_t n = 0;
            for (uint64_t seq : c.kept) {
                if (n == kCollectCap) break;
                if (n++) text += ',';
                sample(seq, i, width).write_json(text);
            }
            text += ']';
            out[i] = json_value(docs[i], text);
            break;
        }
        }
    }
}

size_t SlidingAggregates::bytes() const {
    size_t b = sizeof(*this) + times_.size() * sizeof(int64_t) + samples_.size() * sizeof(Sample);
    for (const auto& s : samples_) b += s.text.capacity();
    for (const auto& c : cells_) {
        b += sizeof(Cell) + (c.minq.size() + c.maxq.size()) * 16 + c.kept.size() * 8;
        for (const auto& [k, n] : c.distinct) b += k.capacity() + 32;
    }
    return b;
}

}  // namespace vigil
