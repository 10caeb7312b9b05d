// Checkpoint bytes of the window aggregates (docs/state.md "Window keys"): exact
// copies of the cells (doubles as raw IEEE bytes), so a restored window yields the
// same values as one that never stopped.
#include "patterns/aggregate.h"
#include "patterns/state_codec.h"

namespace vigil {

namespace {

void put_sample(std::string& out, const Sample& s) {
    out.push_back(static_cast<char>(s.kind));
    out.push_back(static_cast<char>(s.boolean ? 1 : 0));
    put_f64(out, s.number);
    put_bytes(out, s.text);
}

void get_sample(StateReader& in, Sample& s) {
    uint8_t kind = in.byte();
    if (kind > static_cast<uint8_t>(Value::Kind::Json)) in.fail();
    s.kind = static_cast<Value::Kind>(kind);
    s.boolean = in.byte() != 0;
    s.number = in.f64();
    s.text.assign(in.bytes());
}

template <class T, class F>
void put_ring(std::string& out, const Ring<T>& r, F&& put_one) {
    put_varint(out, r.size());
    r.for_each([&](const T& v) { put_one(v); });
}

}  // namespace

void Accumulator::save(std::string& out) const {
    put_varint(out, events_);
    put_varint(out, cells_.size());
    for (const auto& c : cells_) {
        put_varint(out, c.n);
        put_f64(out, c.sum);
        put_f64(out, c.m2);
        put_f64(out, c.min);
        put_f64(out, c.max);
        put_sample(out, c.first);
        put_sample(out, c.last);
        put_varint(out, c.distinct ? c.distinct->size() + 1 : 0);
        if (c.distinct)
            for (const auto& v : *c.distinct) put_bytes(out, v);
        put_varint(out, c.collect ? c.collect->size() + 1 : 0);
        if (c.collect)
            for (const auto& v : *c.collect) put_sample(out, v);
    }
}

bool Accumulator::load(const AggPlan& plan, StateReader& in) {
    events_ = in.u();
    if (in.u() != plan.size()) in.fail();
    for (auto& c : cells_) {
        if (!in.ok()) break;
        c.n = in.u();
        c.sum = in.f64();
        c.m2 = in.f64();
        c.min = in.f64();
        c.max = in.f64();
        get_sample(in, c.first);
        get_sample(in, c.last);
        if (uint64_t n = in.count()) {
            c.distinct = std::make_unique<std::unordered_set<std::string>>();
            for (uint64_t i = 1; i < n && in.ok(); ++i) c.distinct->emplace(in.bytes());
        }
        if (uint64_t n = in.count()) {
            c.collect = std::make_unique<std::vector<Sample>>(n - 1);
            for (auto& s : *c.collect) get_sample(in, s);
        }
    }
    return in.ok();
}

void SlidingAggregates::save(std::string& out) const {
    put_varint(out, front_seq_);
    put_varint(out, next_seq_);
    put_ring(out, times_, [&](int64_t t) { put_zigzag(out, t); });
    put_ring(out, samples_, [&](const Sample& s) { put_sample(out, s); });
    put_varint(out, cells_.size());
    for (const auto& c : cells_) {
        put_varint(out, c.n);
        put_f64(out, c.sum);
        put_f64(out, c.mean);
        put_f64(out, c.m2);
        auto put_pair = [&](const std::pair<uint64_t, double>& p) {
            put_varint(out, p.first);
            put_f64(out, p.second);
        };
        put_ring(out, c.minq, put_pair);
        put_ring(out, c.maxq, put_pair);
        put_ring(out, c.kept, [&](uint64_t s) { put_varint(out, s); });
        put_varint(out, c.distinct.size());
        for (const auto& [v, n] : c.distinct) {
            put_bytes(out, v);
            put_varint(out, n);
        }
    }
}

bool SlidingAggregates::load(const AggPlan& plan, StateReader& in) {
    front_seq_ = in.u();
    next_seq_ = in.u();
    for (uint64_t i = 0, n = in.count(); i < n; ++i) times_.push_back(in.i());
    for (uint64_t i = 0, n = in.count(); i < n && in.ok(); ++i) {
        Sample s;
        get_sample(in, s);
        samples_.push_back(std::move(s));
    }
    if (next_seq_ - front_seq_ != times_.size() || samples_.size() != times_.size() * width_) in.fail();
    if (in.u() != plan.size()) in.fail();
    for (auto& c : cells_) {
        if (!in.ok()) break;
        c.n = in.u();
        c.sum = in.f64();
        c.mean = in.f64();
        c.m2 = in.f64();
        for (uint64_t i = 0, n = in.count(); i < n; ++i) c.minq.push_back({in.u(), in.f64()});
        for (uint64_t i = 0, n = in.count(); i < n; ++i) c.maxq.push_back({in.u(), in.f64()});
        for (uint64_t i = 0, n = in.count(); i < n; ++i) c.kept.push_back(in.u());
        for (uint64_t i = 0, n = in.count(); i < n && in.ok(); ++i) {
            std::string v(in.bytes());
            c.distinct[std::move(v)] = static_cast<uint32_t>(in.u());
        }
    }
    return in.ok();
}

}  // namespace vigil
