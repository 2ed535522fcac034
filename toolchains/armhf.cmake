# Cross build for 32-bit ARM with hardware floating point (armhf).
#   toolchains/make-sysroot.sh armhf build-armhf/sysroot
#   cmake -B build-armhf -DCMAKE_TOOLCHAIN_FILE=toolchains/armhf.cmake \
#         -DMEESHY_SYSROOT=$PWD/build-armhf/sysroot
set(CMAKE_SYSTEM_PROCESSOR arm)
set(MEESHY_TRIPLE arm-linux-gnueabihf)
set(MEESHY_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
