#pragma once
// Thin RAII wrappers over the LMDB C API, private to storage/ (the only folder that
// may include <lmdb.h>).
//
// Guarantees:
//  - every wrapper releases what it owns exactly once: an Env closes the
//    environment, a transaction not committed is aborted in its destructor, a
//    cursor is closed before its transaction ends (declare cursors after their
//    transaction so they are destroyed first);
//  - no exceptions: calls return an LMDB return code (0 = MDB_SUCCESS), and
//    mdb_error_text(rc) names the symbol and explains it, e.g.
//    "MDB_MAP_FULL: Environment mapsize limit reached" or
//    "ENOSPC: No space left on device".
// Thread rules are LMDB's: one write transaction at a time per environment; a
// read transaction (opened with MDB_NOTLS) may move between threads if its use is
// synchronized; a cursor belongs to its transaction.
#include <lmdb.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace vigil::mdb {

// "MDB_KEYEXIST: Key/data pair already exists", "EFBIG: File too large", ...
std::string error_text(int rc);

inline MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

class Env {
public:
    Env() = default;
    ~Env() { close(); }
    Env(const Env&) = delete;
    Env& operator=(const Env&) = delete;

    // Creates the handle; set map size, maxdbs and maxreaders before open().
    int create();
    int open(const std::string& dir, unsigned flags, unsigned mode = 0640);
    void close();

    MDB_env* get() const { return env_; }
    explicit operator bool() const { return env_ != nullptr; }

private:
    MDB_env* env_ = nullptr;
};

// A transaction; aborted on destruction unless committed.
class Txn {
public:
    Txn() = default;
    ~Txn() { abort(); }
    Txn(Txn&& o) noexcept : txn_(o.txn_) { o.txn_ = nullptr; }
    Txn& operator=(Txn&& o) noexcept;
    Txn(const Txn&) = delete;
    Txn& operator=(const Txn&) = delete;

    int begin_read(MDB_env* env) { return begin(env, MDB_RDONLY); }
    int begin_write(MDB_env* env) { return begin(env, 0); }
    int commit();
    void abort();

    MDB_txn* get() const { return txn_; }
    explicit operator bool() const { return txn_ != nullptr; }

    int get(MDB_dbi dbi, std::string_view key, std::string_view& out) const;
    int put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags = 0);
    int del(MDB_dbi dbi, std::string_view key);

private:
    int begin(MDB_env* env, unsigned flags);
    MDB_txn* txn_ = nullptr;
};

class Cursor {
public:
    Cursor() = default;
    ~Cursor() { close(); }
    Cursor(Cursor&& o) noexcept : cur_(o.cur_) { o.cur_ = nullptr; }
    Cursor& operator=(Cursor&&) = delete;
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;

    int open(const Txn& txn, MDB_dbi dbi);
    void close();

    // op is MDB_FIRST, MDB_NEXT, MDB_SET_RANGE (key in/out), MDB_LAST, ...
    int get(std::string_view& key, std::string_view& value, MDB_cursor_op op);
    int seek(std::string_view key, std::string_view& found_key, std::string_view& value);
    int put(std::string_view key, std::string_view value, unsigned flags = 0);
    // MDB_RESERVE: makes room for `size` bytes and points `out` at it (valid until
    // the next write in the transaction).
    int reserve(std::string_view key, size_t size, char*& out, unsigned flags = 0);
    int del() { return mdb_cursor_del(cur_, 0); }

    MDB_cursor* get() const { return cur_; }

private:
    MDB_cursor* cur_ = nullptr;
};

}  // namespace vigil::mdb
