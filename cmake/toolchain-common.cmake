# Shared part of the Debian multiarch toolchain files: the including file sets
# CMAKE_SYSTEM_PROCESSOR, VIGIL_CROSS_TRIPLET and VIGIL_CROSS_QEMU first.
set(CMAKE_C_COMPILER ${VIGIL_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${VIGIL_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${VIGIL_CROSS_TRIPLET})

# Libraries and headers come from the multiarch folders of this machine (/usr/lib/<triplet>,
# /usr/include), plus the optional folder of unpacked -dev packages; programs from the host.
list(APPEND CMAKE_FIND_ROOT_PATH /)
if(DEFINED ENV{VIGIL_CROSS_EXTRA_ROOT})
  set(VIGIL_CROSS_EXTRA_ROOT "$ENV{VIGIL_CROSS_EXTRA_ROOT}")
endif()
if(VIGIL_CROSS_EXTRA_ROOT)
  list(PREPEND CMAKE_FIND_ROOT_PATH ${VIGIL_CROSS_EXTRA_ROOT})
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# try_compile and the toolchain checks run in fresh CMake instances: pass the settings on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES VIGIL_CROSS_EXTRA_ROOT)

# pkg-config answers for the target architecture only.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${VIGIL_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
if(VIGIL_CROSS_EXTRA_ROOT)
  set(ENV{PKG_CONFIG_LIBDIR}
      "${VIGIL_CROSS_EXTRA_ROOT}/usr/lib/${VIGIL_CROSS_TRIPLET}/pkgconfig:$ENV{PKG_CONFIG_LIBDIR}")
endif()
set(ENV{PKG_CONFIG_PATH} "")

# Test executables run under qemu user-mode emulation; the target's dynamic loader and libraries
# are the multiarch ones installed on this machine, so no -L sysroot is needed.
find_program(VIGIL_CROSS_QEMU_PATH ${VIGIL_CROSS_QEMU})
if(VIGIL_CROSS_QEMU_PATH)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${VIGIL_CROSS_QEMU_PATH})
endif()
