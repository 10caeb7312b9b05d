# Cross-compiles Vigil for 32-bit ARM (armhf, ARMv7 with hard float) gateways with Debian's cross
# toolchain (g++-arm-linux-gnueabihf) and multiarch -dev packages (libmosquitto-dev:armhf, ...).
# scripts/cross-build armhf installs all of that and passes this file as CMAKE_TOOLCHAIN_FILE.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(VIGIL_CROSS_TRIPLET arm-linux-gnueabihf)
set(VIGIL_CROSS_QEMU qemu-arm-static)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)
