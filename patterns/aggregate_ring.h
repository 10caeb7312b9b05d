#pragma once
// A FIFO ring buffer for the sliding-window aggregates: push at the back, pop at
// either end, index from the front. Unlike std::deque it allocates nothing until
// the first push (an idle key costs a few words), and it grows by doubling.
#include <cstddef>
#include <utility>
#include <vector>

namespace vigil {

template <class T>
class Ring {
public:
    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }
    size_t capacity() const { return buf_.size(); }
    T& operator[](size_t i) { return buf_[(head_ + i) & (buf_.size() - 1)]; }
    const T& operator[](size_t i) const { return buf_[(head_ + i) & (buf_.size() - 1)]; }
    T& front() { return (*this)[0]; }
    const T& front() const { return (*this)[0]; }
    T& back() { return (*this)[size_ - 1]; }
    const T& back() const { return (*this)[size_ - 1]; }

    void push_back(T v) {
        if (size_ == buf_.size()) grow();
        buf_[(head_ + size_) & (buf_.size() - 1)] = std::move(v);
        ++size_;
    }
    void pop_front() {
        front() = T();
        head_ = (head_ + 1) & (buf_.size() - 1);
        --size_;
    }
    void pop_back() {
        back() = T();
        --size_;
    }

    template <class F>
    void for_each(F&& f) const {
        for (size_t i = 0; i < size_; ++i) f((*this)[i]);
    }

private:
    void grow() {
        std::vector<T> next(buf_.empty() ? 4 : buf_.size() * 2);
        for (size_t i = 0; i < size_; ++i) next[i] = std::move((*this)[i]);
        buf_ = std::move(next);
        head_ = 0;
    }

    std::vector<T> buf_;  // size is a power of two (or 0)
    size_t head_ = 0;
    size_t size_ = 0;
};

}  // namespace vigil
