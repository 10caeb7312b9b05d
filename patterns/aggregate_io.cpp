// Checkpoint bytes of the window aggregates (docs/state.md "Window keys"): exact
// copies of the cells (doubles as raw IEEE bytes), so a restored window yields the
// same values as one that never stopped.
#include <bit>
#include <cstdint>

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

// A default Sample, bit for bit (what a cell that keeps no values saves).
bool empty_sample(const Sample& s) {
    return s.kind == Value::Kind::Missing && !s.boolean && std::bit_cast<uint64_t>(s.number) == 0 && s.text.empty();
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
        const AggText& t = c.text();
        put_sample(out, t.first);
        put_sample(out, t.last);
        put_varint(out, t.distinct ? t.distinct->size() + 1 : 0);
        if (t.distinct)
            for (const auto& v : *t.distinct) put_bytes(out, v);
        put_varint(out, t.collect ? t.collect->size() + 1 : 0);
        if (t.collect)
            for (const auto& v : *t.collect) put_sample(out, v);
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
        // A numeric cell's samples are empty: its AggText is made only for what it holds.
        c.kept.reset();
        Sample first, last;
        get_sample(in, first);
        get_sample(in, last);
        if (!empty_sample(first)) c.text().first = std::move(first);
        if (!empty_sample(last)) c.text().last = std::move(last);
        if (uint64_t n = in.count()) {
            auto& d = c.text().distinct;
            d = std::make_unique<std::unordered_set<std::string>>();
            for (uint64_t i = 1; i < n && in.ok(); ++i) d->emplace(in.bytes());
        }
        if (uint64_t n = in.count()) {
            auto& v = c.text().collect;
            v = std::make_unique<std::vector<Sample>>(n - 1);
            for (auto& s : *v) get_sample(in, s);
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
