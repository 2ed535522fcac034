# libsrtp2, the one library that moves every media packet's bytes, from one
# of two builds:
#   MEESHY_SRTP=openssl (default): libsrtp2.a built on libcrypto by
#     scripts/build-srtp.sh into .deps/<triple>/ (4x faster per packet on x86
#     than Debian's NSS build; uses NEON and the ARMv8 crypto extensions on ARM).
#   MEESHY_SRTP=system: Debian's libsrtp2-dev (NSS), for a distro packager.
# Either way the target meeshy_srtp2 carries the headers and link line.
set(MEESHY_SRTP "openssl" CACHE STRING "libsrtp2 build: openssl or system")
set_property(CACHE MEESHY_SRTP PROPERTY STRINGS openssl system)
add_library(meeshy_srtp2 INTERFACE)

if(MEESHY_SRTP STREQUAL "system")
  pkg_check_modules(SRTP2 REQUIRED IMPORTED_TARGET libsrtp2)
  target_link_libraries(meeshy_srtp2 INTERFACE PkgConfig::SRTP2)
elseif(MEESHY_SRTP STREQUAL "openssl")
  if(CMAKE_LIBRARY_ARCHITECTURE)
    set(srtp_triple ${CMAKE_LIBRARY_ARCHITECTURE})
  else()
    set(srtp_triple ${CMAKE_SYSTEM_PROCESSOR}-linux-gnu)
  endif()
  set(MEESHY_SRTP_PREFIX "${CMAKE_SOURCE_DIR}/.deps/${srtp_triple}" CACHE PATH
      "Where scripts/build-srtp.sh installed libsrtp2 on OpenSSL")
  # The prefix is outside the sysroot: look there and nowhere else.
  find_library(MEESHY_SRTP_LIB NAMES libsrtp2.a PATHS "${MEESHY_SRTP_PREFIX}/lib"
               NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
  find_path(MEESHY_SRTP_INCLUDE srtp2/srtp.h PATHS "${MEESHY_SRTP_PREFIX}/include"
            NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
  if(NOT MEESHY_SRTP_LIB OR NOT MEESHY_SRTP_INCLUDE)
    message(FATAL_ERROR "libsrtp2 on OpenSSL not found in ${MEESHY_SRTP_PREFIX} "
      "(no lib/libsrtp2.a or include/srtp2/srtp.h). Build it with "
      "'scripts/build-srtp.sh amd64|arm64|armhf [SYSROOT]', or configure with "
      "-DMEESHY_SRTP=system to link Debian's libsrtp2 (NSS, slower).")
  endif()
  pkg_check_modules(LIBCRYPTO IMPORTED_TARGET libcrypto)
  if(NOT LIBCRYPTO_FOUND)
    message(FATAL_ERROR "libsrtp2 on OpenSSL needs libcrypto: install libssl-dev "
      "(or add it to the sysroot), or configure with -DMEESHY_SRTP=system.")
  endif()
  target_include_directories(meeshy_srtp2 INTERFACE ${MEESHY_SRTP_INCLUDE})
  target_link_libraries(meeshy_srtp2 INTERFACE ${MEESHY_SRTP_LIB}
                        PkgConfig::LIBCRYPTO)
else()
  message(FATAL_ERROR "MEESHY_SRTP='${MEESHY_SRTP}' is neither openssl nor system")
endif()
message(STATUS "libsrtp2: ${MEESHY_SRTP} build")
