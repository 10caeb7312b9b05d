#pragma once

namespace vigil {

// The LMDB library version this binary runs with ("LMDB 0.9.24: (July 24, 2019)").
const char* lmdb_version_string();

}  // namespace vigil
