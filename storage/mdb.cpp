#include "storage/mdb.h"

#include <cerrno>

namespace vigil::mdb {
namespace {

const char* symbol(int rc) {
    switch (rc) {
        case MDB_SUCCESS: return "MDB_SUCCESS";
        case MDB_KEYEXIST: return "MDB_KEYEXIST";
        case MDB_NOTFOUND: return "MDB_NOTFOUND";
        case MDB_PAGE_NOTFOUND: return "MDB_PAGE_NOTFOUND";
        case MDB_CORRUPTED: return "MDB_CORRUPTED";
        case MDB_PANIC: return "MDB_PANIC";
        case MDB_VERSION_MISMATCH: return "MDB_VERSION_MISMATCH";
        case MDB_INVALID: return "MDB_INVALID";
        case MDB_MAP_FULL: return "MDB_MAP_FULL";
        case MDB_DBS_FULL: return "MDB_DBS_FULL";
        case MDB_READERS_FULL: return "MDB_READERS_FULL";
        case MDB_TLS_FULL: return "MDB_TLS_FULL";
        case MDB_TXN_FULL: return "MDB_TXN_FULL";
        case MDB_CURSOR_FULL: return "MDB_CURSOR_FULL";
        case MDB_PAGE_FULL: return "MDB_PAGE_FULL";
        case MDB_MAP_RESIZED: return "MDB_MAP_RESIZED";
        case MDB_INCOMPATIBLE: return "MDB_INCOMPATIBLE";
        case MDB_BAD_RSLOT: return "MDB_BAD_RSLOT";
        case MDB_BAD_TXN: return "MDB_BAD_TXN";
        case MDB_BAD_VALSIZE: return "MDB_BAD_VALSIZE";
        case MDB_BAD_DBI: return "MDB_BAD_DBI";
        case ENOSPC: return "ENOSPC";
        case EFBIG: return "EFBIG";
        case EIO: return "EIO";
        case EACCES: return "EACCES";
        case EPERM: return "EPERM";
        case ENOENT: return "ENOENT";
        case ENOMEM: return "ENOMEM";
        case EINVAL: return "EINVAL";
        case EAGAIN: return "EAGAIN";
        case EBUSY: return "EBUSY";
        case EROFS: return "EROFS";
        case EDQUOT: return "EDQUOT";
        case ENOTDIR: return "ENOTDIR";
        default: return nullptr;
    }
}

}  // namespace

std::string error_text(int rc) {
    // LMDB's own messages already start with their symbol ("MDB_MAP_FULL: ...").
    if (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE) return mdb_strerror(rc);
    const char* sym = symbol(rc);
    std::string out = sym ? sym : "error " + std::to_string(rc);
    out += ": ";
    out += mdb_strerror(rc);
    if (rc == ENOSPC || rc == EDQUOT || rc == EFBIG) out += " (disk full or file size limit reached)";
    // LMDB reports a short write (what a full disk usually causes) as EIO.
    if (rc == EIO) out += " (disk full, file size limit reached, or a failing device)";
    return out;
}

int Env::create() {
    close();
    return mdb_env_create(&env_);
}

int Env::open(const std::string& dir, unsigned flags, unsigned mode) {
    return mdb_env_open(env_, dir.c_str(), flags, static_cast<mdb_mode_t>(mode));
}

void Env::close() {
    if (env_) mdb_env_close(env_);
    env_ = nullptr;
}

Txn& Txn::operator=(Txn&& o) noexcept {
    if (this != &o) {
        abort();
        txn_ = o.txn_;
        o.txn_ = nullptr;
    }
    return *this;
}

int Txn::begin(MDB_env* env, unsigned flags) {
    abort();
    return mdb_txn_begin(env, nullptr, flags, &txn_);
}

int Txn::commit() {
    if (!txn_) return EINVAL;
    int rc = mdb_txn_commit(txn_);  // frees the txn whatever the outcome
    txn_ = nullptr;
    return rc;
}

void Txn::abort() {
    if (txn_) mdb_txn_abort(txn_);
    txn_ = nullptr;
}

int Txn::get(MDB_dbi dbi, std::string_view key, std::string_view& out) const {
    MDB_val k = val(key), v{};
    int rc = mdb_get(txn_, dbi, &k, &v);
    if (rc == 0) out = view(v);
    return rc;
}

int Txn::put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags) {
    MDB_val k = val(key), v = val(value);
    return mdb_put(txn_, dbi, &k, &v, flags);
}

int Txn::del(MDB_dbi dbi, std::string_view key) {
    MDB_val k = val(key);
    return mdb_del(txn_, dbi, &k, nullptr);
}

int Cursor::open(const Txn& txn, MDB_dbi dbi) {
    close();
    return mdb_cursor_open(txn.get(), dbi, &cur_);
}

void Cursor::close() {
    if (cur_) mdb_cursor_close(cur_);
    cur_ = nullptr;
}

int Cursor::get(std::string_view& key, std::string_view& value, MDB_cursor_op op) {
    MDB_val k = val(key), v{};
    int rc = mdb_cursor_get(cur_, &k, &v, op);
    if (rc == 0) {
        key = view(k);
        value = view(v);
    }
    return rc;
}

int Cursor::seek(std::string_view key, std::string_view& found_key, std::string_view& value) {
    found_key = key;
    return get(found_key, value, MDB_SET_RANGE);
}

int Cursor::put(std::string_view key, std::string_view value, unsigned flags) {
    MDB_val k = val(key), v = val(value);
    return mdb_cursor_put(cur_, &k, &v, flags);
}

int Cursor::reserve(std::string_view key, size_t size, char*& out, unsigned flags) {
    MDB_val k = val(key), v{size, nullptr};
    int rc = mdb_cursor_put(cur_, &k, &v, flags | MDB_RESERVE);
    if (rc == 0) out = static_cast<char*>(v.mv_data);
    return rc;
}

}  // namespace vigil::mdb
