#pragma once
// Window aggregates (SPEC 3.3): count() count(expr) sum avg min max first last
// distinct stddev collect, updated incrementally.
//
// Guarantees:
//  - each aggregate's argument is evaluated once per event (make_samples), then
//    added to every window the event belongs to with constant work per window
//    (distinct: one hash-set insert; collect: one append until the cap);
//  - null and missing arguments are ignored by every aggregate except count(),
//    as SQL and Kafka Streams' aggregators do; sum/avg/min/max/stddev ignore
//    non-numbers as well;
//  - Accumulator is add-only and mergeable (session merges); SlidingAggregates
//    also removes the oldest event in constant amortized time (min/max through
//    monotonic deques), for sliding windows;
//  - results: count/distinct -> number; sum of nothing -> 0; avg/min/max/first/
//    last/stddev of nothing -> null; stddev is the population deviation
//    (Welford); collect -> array of the first kCollectCap values.
// Failure modes: none at run time; an unknown function name is refused by
// parse_agg_fn (the rule loader reports it), never at evaluation.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "patterns/aggregate_ring.h"
#include "rules/expr.h"
#include "rules/json.h"
#include "rules/rule.h"

namespace vigil {

class StateReader;  // patterns/state_codec.h

constexpr size_t kCollectCap = 100;

enum class AggFn : uint8_t { Count, CountExpr, Sum, Avg, Min, Max, First, Last, Distinct, Stddev, Collect };

// `function` as written ("count", "avg", ...); `has_arg` distinguishes count() from count(x).
std::optional<AggFn> parse_agg_fn(std::string_view function, bool has_arg);

// One aggregate argument evaluated for one event. `text` holds a string's
// characters or the compact JSON of an object/array (only when the function keeps
// values: first, last, distinct, collect).
struct Sample {
    Value::Kind kind = Value::Kind::Missing;
    bool boolean = false;
    double number = 0;
    std::string text;

    bool present() const { return kind != Value::Kind::Missing && kind != Value::Kind::Null; }
    bool numeric() const { return kind == Value::Kind::Number; }
    void write_json(std::string& out) const;
    // A Value view (strings point into `text`; JSON is parsed into `doc`).
    Value to_value(JsonDoc& doc) const;
};

// The compiled list of a window's aggregates.
struct AggPlan {
    std::vector<AggFn> fns;
    std::vector<std::string> names;
    std::vector<ExprPtr> args;  // null for count()
    // The earlier aggregate whose argument has the same text (`max(value)` and
    // `min(value)`), whose sample this one copies instead of evaluating it again; -1
    // none. Arguments calling Lua are always evaluated (a Lua function may keep state).
    std::vector<int32_t> same_arg;
    // Arguments that are a bare top-level member (Expr::member_read): its name, which
    // make_samples() reads in place when it holds a number; else nullopt.
    std::vector<std::optional<std::string_view>> member;
    // keeps_text(fns[i]), looked up once.
    std::vector<uint8_t> keeps;

    // False (with `error`) when a function is unknown.
    static bool build(const std::vector<AggregateSpec>& specs, AggPlan& out, std::string* error);
    size_t size() const { return fns.size(); }
};

// Numbers read from the event ahead (rules/precomputed.h, Event::nums): aggregate
// i's argument is nums[slot[i]] when slot[i] >= 0 and bit slot[i] of `known` is set.
struct PresetNumbers {
    const int8_t* slot;
    const double* nums;
    uint8_t known;
};

// Evaluates every argument of `plan` on `ctx.event` into `out` (resized to plan.size()),
// taking an argument from `preset` where it holds it.
void make_samples(const AggPlan& plan, const EvalContext& ctx, std::vector<Sample>& out,
                  const PresetNumbers* preset = nullptr);

// What first(), last(), distinct() and collect() keep beside the numbers.
struct AggText {
    Sample first, last;
    std::unique_ptr<std::unordered_set<std::string>> distinct;
    std::unique_ptr<std::vector<Sample>> collect;
};

// The state of one aggregate in one add-only window: 48 bytes, the kept values of
// the four functions above on the heap (made at their first value), so a window of
// numeric aggregates takes a cache line or two.
struct AggCell {
    uint64_t n = 0;      // values taken (count, count(expr): the result)
    double sum = 0;      // sum; Welford mean for stddev/avg
    double m2 = 0;       // Welford M2
    double min = 0, max = 0;
    std::unique_ptr<AggText> kept;

    AggText& text() {
        if (!kept) kept = std::make_unique<AggText>();
        return *kept;
    }
    // An empty AggText when none was made.
    const AggText& text() const;
};
static_assert(sizeof(AggCell) == 48);

// Add-only, mergeable aggregates of one window (tumbling, hopping, session, count).
class Accumulator {
public:
    explicit Accumulator(const AggPlan& plan);
    // The same, in the storage of `cells` (a released accumulator's): no allocation.
    Accumulator(const AggPlan& plan, std::vector<AggCell>&& cells);
    // Gives up the cells' storage for another accumulator (this one is left empty).
    std::vector<AggCell> release() { return std::move(cells_); }
    // Inline for the numeric functions (a hopping window adds each event to several
    // windows); the others go through add_kept().
    void add(const AggPlan& plan, const std::vector<Sample>& samples) {
        ++events_;
        const size_t n = plan.fns.size();
        for (size_t i = 0; i < n; ++i) {
            AggCell& c = cells_[i];
            const Sample& s = samples[i];
            switch (plan.fns[i]) {
            case AggFn::Count: ++c.n; break;
            case AggFn::CountExpr:
                if (s.present()) ++c.n;
                break;
            case AggFn::Sum:
            case AggFn::Avg:
                if (s.numeric()) {
                    ++c.n;
                    c.sum += s.number;
                }
                break;
            case AggFn::Min:
            case AggFn::Max:
                if (!s.numeric()) break;
                if (c.n == 0 || s.number < c.min) c.min = s.number;
                if (c.n == 0 || s.number > c.max) c.max = s.number;
                ++c.n;
                break;
            default: add_kept(plan.fns[i], c, s);
            }
        }
    }
    // Folds `later` (a window whose events all come after this one's, or any
    // other window for order-free aggregates) into this one.
    void merge(const AggPlan& plan, Accumulator&& later);
    uint64_t events() const { return events_; }
    // Writes {"name": value, ...}.
    void write_values(const AggPlan& plan, std::string& out) const;
    // Values in plan order for `having`/payload; JSON results are parsed into docs.
    void values(const AggPlan& plan, std::vector<Value>& out, std::vector<JsonDoc>& docs) const;
    size_t bytes() const;
    // Checkpoints (patterns/aggregate_io.cpp): exact bytes of the cells, and back.
    void save(std::string& out) const;
    bool load(const AggPlan& plan, StateReader& in);

private:
    // add() for stddev, first, last, distinct and collect.
    static void add_kept(AggFn f, AggCell& c, const Sample& s);

    std::vector<AggCell> cells_;
    uint64_t events_ = 0;
};

// Aggregates over the events of a sliding window: events are added at the back
// and removed from the front in arrival order.
class SlidingAggregates {
public:
    explicit SlidingAggregates(const AggPlan& plan);
    void push(const AggPlan& plan, int64_t time, const std::vector<Sample>& samples);
    // Removes every event with time <= `bound`.
    void expire(const AggPlan& plan, int64_t bound);
    bool empty() const { return times_.empty(); }
    uint64_t events() const { return times_.size(); }
    int64_t last_time() const { return times_.back(); }
    // `vals` and `docs` are scratch space (reused to avoid allocating).
    void write_values(const AggPlan& plan, std::string& out, std::vector<Value>& vals,
                      std::vector<JsonDoc>& docs) const;
    void values(const AggPlan& plan, std::vector<Value>& out, std::vector<JsonDoc>& docs) const;
    size_t bytes() const;
    // Checkpoints (patterns/aggregate_io.cpp): the events' samples and the cells
    // exactly (running sums included, so values match an uninterrupted run).
    void save(std::string& out) const;
    bool load(const AggPlan& plan, StateReader& in);

private:
    struct Cell {
        uint64_t n = 0;
        double sum = 0, mean = 0, m2 = 0;
        Ring<std::pair<uint64_t, double>> minq, maxq;  // monotonic: (seq, value)
        Ring<uint64_t> kept;                           // seqs with a present value (first/last/collect)
        std::unordered_map<std::string, uint32_t> distinct;  // value -> multiplicity
    };
    // The stored sample of aggregate `agg` for event `seq` (only for aggregates
    // with a column: count(), min and max keep nothing per event).
    const Sample& sample(uint64_t seq, size_t agg) const {
        return samples_[(seq - front_seq_) * width_ + static_cast<size_t>(column_[agg])];
    }
    void remove_front(const AggPlan& plan);

    Ring<int64_t> times_;
    Ring<Sample> samples_;        // width_ per event, flattened
    std::vector<int> column_;     // per aggregate: its column in samples_, -1 when not stored
    size_t width_ = 0;
    uint64_t front_seq_ = 0, next_seq_ = 0;
    std::vector<Cell> cells_;
};

// Shared by the add-only and the sliding aggregates.
namespace agg_detail {
// Welford's update, and its inverse for sliding windows.
void welford_add(uint64_t& n, double& mean, double& m2, double x);
void welford_remove(uint64_t& n, double& mean, double& m2, double x);
// A Value of kind Json parsed from `text` into `doc` (null when it does not parse).
Value json_value(JsonDoc& doc, const std::string& text);
}  // namespace agg_detail

}  // namespace vigil
