#pragma once
// A StageView over one partial match (a path in the shared buffer), for the
// conditions and payload expressions of a pattern. Private to the pattern runtime.
#include <algorithm>
#include <vector>

#include "patterns/nfa.h"

namespace vigil {

// The events of one partial match, per stage, built on first use: most conditions
// never look at earlier stages, so most evaluations never walk the path.
class PatternRuntime::View final : public StageView {
public:
    View(const SharedBuffer& buf, size_t stages, SharedBuffer::NodeId node)
        : buf_(buf), stages_(stages), node_(node) {}
    size_t stage_size(int stage) const override {
        build();
        return stage >= 0 && size_t(stage) < stages_ ? len_[stage] : 0;
    }
    const Event* stage_event(int stage, size_t i) const override {
        build();
        if (stage < 0 || size_t(stage) >= stages_ || i >= len_[stage]) return nullptr;
        return events_[begin_[stage] + i];
    }

private:
    void build() const {
        if (built_) return;
        built_ = true;
        begin_.assign(stages_, 0);
        len_.assign(stages_, 0);
        std::vector<uint16_t> st;
        for (auto n = node_; n != SharedBuffer::kNone; n = buf_.pred(n)) {
            events_.push_back(buf_.event(n));
            st.push_back(buf_.stage(n));
        }
        std::reverse(events_.begin(), events_.end());
        std::reverse(st.begin(), st.end());
        for (size_t i = 0; i < st.size(); ++i) {
            if (len_[st[i]]++ == 0) begin_[st[i]] = static_cast<uint32_t>(i);
        }
    }
    const SharedBuffer& buf_;
    size_t stages_;
    SharedBuffer::NodeId node_;
    mutable bool built_ = false;
    mutable std::vector<const Event*> events_;
    mutable std::vector<uint32_t> begin_, len_;
};

}  // namespace vigil
