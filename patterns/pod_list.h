#pragma once
// A growable array of trivially copyable values in 16 bytes (pointer, size,
// capacity) instead of std::vector's 24: the pattern runtime keeps one per key,
// so the 8 bytes count per key. The vector-like subset the runtime uses.
// Guarantees: elements are contiguous; growth doubles (amortized O(1)); no
// exceptions besides std::bad_alloc. Thread rules: as std::vector.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

namespace vigil {

template <class T>
class PodList {
    static_assert(std::is_trivially_copyable_v<T>);

public:
    PodList() = default;
    ~PodList() { std::free(data_); }
    PodList(const PodList& o) { assign(o.begin(), o.end()); }
    PodList& operator=(const PodList& o) {
        if (this != &o) assign(o.begin(), o.end());
        return *this;
    }
    PodList(PodList&& o) noexcept : data_(o.data_), size_(o.size_), cap_(o.cap_) {
        o.data_ = nullptr;
        o.size_ = o.cap_ = 0;
    }
    PodList& operator=(PodList&& o) noexcept {
        if (this != &o) {
            std::free(data_);
            data_ = o.data_;
            size_ = o.size_;
            cap_ = o.cap_;
            o.data_ = nullptr;
            o.size_ = o.cap_ = 0;
        }
        return *this;
    }

    T* begin() { return data_; }
    T* end() { return data_ + size_; }
    const T* begin() const { return data_; }
    const T* end() const { return data_ + size_; }
    size_t size() const { return size_; }
    size_t capacity() const { return cap_; }
    bool empty() const { return size_ == 0; }
    T& operator[](size_t i) { return data_[i]; }
    const T& operator[](size_t i) const { return data_[i]; }

    void clear() { size_ = 0; }
    void push_back(const T& v) {
        if (size_ == cap_) reserve(cap_ ? size_t(cap_) * 2 : 1);
        data_[size_++] = v;
    }
    void assign(const T* first, const T* last) {
        size_t n = static_cast<size_t>(last - first);
        if (n > cap_) reserve(n);
        if (n) std::memmove(data_, first, n * sizeof(T));
        size_ = static_cast<uint32_t>(n);
    }
    void reserve(size_t n) {
        if (n <= cap_) return;
        void* p = std::realloc(data_, n * sizeof(T));
        if (!p) throw std::bad_alloc();
        data_ = static_cast<T*>(p);
        cap_ = static_cast<uint32_t>(n);
    }
    void shrink_to_fit() {
        if (size_ == cap_) return;
        if (size_ == 0) {
            std::free(data_);
            data_ = nullptr;
            cap_ = 0;
            return;
        }
        if (void* p = std::realloc(data_, size_t(size_) * sizeof(T))) {
            data_ = static_cast<T*>(p);
            cap_ = size_;
        }
    }

private:
    T* data_ = nullptr;
    uint32_t size_ = 0;
    uint32_t cap_ = 0;
};

}  // namespace vigil
