# Cross-compiles Vigil for 64-bit ARM (arm64 / aarch64) gateways with Debian's cross toolchain
# (g++-aarch64-linux-gnu) and multiarch -dev packages (libmosquitto-dev:arm64, ...).
# scripts/cross-build arm64 installs all of that and passes this file as CMAKE_TOOLCHAIN_FILE.
#
# VIGIL_CROSS_EXTRA_ROOT (optional): a folder holding -dev packages that cannot be co-installed
# with their amd64 twin (libyaml-cpp-dev is not Multi-Arch: same), unpacked with dpkg -x.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(VIGIL_CROSS_TRIPLET aarch64-linux-gnu)
set(VIGIL_CROSS_QEMU qemu-aarch64-static)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)
