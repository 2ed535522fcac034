# Cross build for 64-bit ARM (arm64) edge appliances.
#   toolchains/make-sysroot.sh arm64 build-aarch64/sysroot
#   cmake -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64.cmake \
#         -DMEESHY_SYSROOT=$PWD/build-aarch64/sysroot
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(MEESHY_TRIPLE aarch64-linux-gnu)
set(MEESHY_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
