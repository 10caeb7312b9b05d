#include "storage/version.h"

#include <lmdb.h>

namespace vigil {

const char* lmdb_version_string() { return mdb_version(nullptr, nullptr, nullptr); }

}  // namespace vigil
