# Shared part of the cross toolchain files: a Debian sysroot made by
# toolchains/make-sysroot.sh, the Debian cross gcc, and qemu-user to run the
# unit tests (ctest runs each test through CMAKE_CROSSCOMPILING_EMULATOR).
# The including file sets MEESHY_TRIPLE and MEESHY_QEMU first.
set(CMAKE_SYSTEM_NAME Linux)
if(NOT MEESHY_SYSROOT)
  set(MEESHY_SYSROOT $ENV{MEESHY_SYSROOT})
endif()
if(NOT MEESHY_SYSROOT OR NOT EXISTS "${MEESHY_SYSROOT}/usr/include")
  message(FATAL_ERROR "MEESHY_SYSROOT must name a sysroot made by "
    "toolchains/make-sysroot.sh (got '${MEESHY_SYSROOT}')")
endif()
# try_compile runs in other projects: hand them the same settings.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MEESHY_SYSROOT)

set(CMAKE_C_COMPILER ${MEESHY_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${MEESHY_TRIPLE}-g++)
set(CMAKE_SYSROOT ${MEESHY_SYSROOT})
set(CMAKE_LIBRARY_ARCHITECTURE ${MEESHY_TRIPLE})
set(CMAKE_FIND_ROOT_PATH ${MEESHY_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config must read the sysroot's .pc files, never the host's.
set(ENV{PKG_CONFIG_DIR} "")
set(ENV{PKG_CONFIG_LIBDIR}
    "${MEESHY_SYSROOT}/usr/lib/${MEESHY_TRIPLE}/pkgconfig:${MEESHY_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${MEESHY_SYSROOT})

# Debian's .so files find their own dependencies through the sysroot.
set(CMAKE_EXE_LINKER_FLAGS_INIT
    "-Wl,-rpath-link,${MEESHY_SYSROOT}/usr/lib/${MEESHY_TRIPLE}:${MEESHY_SYSROOT}/lib/${MEESHY_TRIPLE}")
set(CMAKE_CROSSCOMPILING_EMULATOR ${MEESHY_QEMU};-L;${MEESHY_SYSROOT})
