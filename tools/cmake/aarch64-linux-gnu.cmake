# Cross-compiling hypermoe for 64-bit ARM Linux (aarch64) on a Debian 12 x86-64 host:
#
#   cmake -S . -B build-aarch64 --toolchain tools/cmake/aarch64-linux-gnu.cmake \
#         -Ddnnl_DIR=<where libdnnl-dev:arm64's CMake files are>
#   cmake --build build-aarch64 -j2
#   QEMU_CPU=cortex-a72 ctest --test-dir build-aarch64   # Highway's NEON target
#   QEMU_CPU=max        ctest --test-dir build-aarch64   # SVE2 (512-bit vectors)
#   QEMU_CPU=a64fx      ctest --test-dir build-aarch64   # SVE (512-bit)
#   QEMU_CPU=max,sve-default-vector-length=16 ...        # SVE2_128 (32: SVE_256)
#
# .ci/aarch64.sh does all of it, installing what it needs first. The pieces:
#  - compilers: g++-aarch64-linux-gnu (gcc 12, like the host);
#  - libraries: Debian's arm64 packages through multiarch (dpkg --add-architecture
#    arm64), which install under /usr/lib/aarch64-linux-gnu, so no sysroot is needed;
#    CMAKE_LIBRARY_ARCHITECTURE makes find_package look in .../aarch64-linux-gnu/cmake.
#    libdnnl-dev:arm64 cannot be installed next to libdnnl-dev:amd64 (dnnl_config.h
#    differs), hence dnnl_DIR pointing at an unpacked copy (see .ci/aarch64.sh);
#  - tests: qemu-user runs the aarch64 programs (ctest, doctest discovery at build
#    time, and the scripts that run `hmoe`, through tests/CMakeLists.txt's launchers).
#    qemu reads the CPU it emulates from the environment variable QEMU_CPU (a model
#    and its properties), so one build is tested as several CPUs: e.g. cortex-a72 or
#    neoverse-n1 (NEON only), a64fx (SVE, 512-bit), max (SVE2 and everything else qemu
#    implements; 512-bit vectors unless sve-default-vector-length=<bytes> says).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(HMOE_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${HMOE_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${HMOE_CROSS_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${HMOE_CROSS_TRIPLE})

# Programs (flatc, python3, node) are the host's; libraries and packages the target's,
# found through the multiarch directories above.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# Every aarch64 program the build or the tests run goes through this. Override with
# -DCMAKE_CROSSCOMPILING_EMULATOR=... (e.g. empty on an arm64 machine).
#
# Which aarch64 C library the programs run with matters: its dynamic loader
# (ld-linux-aarch64.so.1) and libc.so.6 must come from the same glibc build.
#  - With Debian's arm64 packages installed (libc6:arm64 comes with libdnnl2:arm64 and
#    libhwy1:arm64), the loader is /lib/ld-linux-aarch64.so.1 and everything is found
#    in /lib/aarch64-linux-gnu: qemu needs no -L. Passing -L /usr/aarch64-linux-gnu there
#    is wrong: qemu then takes the cross toolchain's loader (libc6-arm64-cross, e.g.
#    2.36-8cross1), which finds libc.so.6 through the host's ld.so.cache in
#    /lib/aarch64-linux-gnu (libc6:arm64, e.g. 2.36-9+deb12u14): mismatched, and
#    pthread_create then loops forever in its stack cache (any second thread: OpenMP's,
#    std::thread's).
#  - With only the cross toolchain, -L /usr/aarch64-linux-gnu supplies loader and libc.
if(NOT DEFINED CMAKE_CROSSCOMPILING_EMULATOR)
  if(EXISTS /lib/ld-linux-aarch64.so.1)
    set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/${HMOE_CROSS_TRIPLE})
  endif()
endif()
