#!/usr/bin/env bash
# ARM64 check (npm run test:arm64): cross-compiles the pure kernels for the NEON tier (every
# kernel file with NORMKIT_TIER_NEON, as binding.gyp builds them on arm64) with the kernel driver
# test/native/*.cc (as scripts/sanitize.sh builds it), using Debian's AArch64 cross compiler, and
# runs the driver under qemu-user: every kernel on many shapes, layouts and options, checked
# against a plain double loop. Not part of npm test (it takes several minutes under emulation).
# The tensors past the streaming-store threshold are left out (NEON has no streaming stores, and
# emulating tens of millions of values per call takes most of an hour); ARM64_LARGE=1 keeps them.
#
#   npm run test:arm64              # threads 1 and 2
#   npm run test:arm64 -- 1         # other thread counts
#
# Needs (Debian, Ubuntu): sudo apt-get install -y g++-aarch64-linux-gnu qemu-user
# CXX_ARM64 and QEMU_ARM64 override the compiler and the emulator; ARM64_SYSROOT the directory
# of AArch64 libraries qemu loads (libc, libstdc++).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/kernel-tiers.sh

CXX="${CXX_ARM64:-aarch64-linux-gnu-g++}"
QEMU="${QEMU_ARM64:-qemu-aarch64}"
SYSROOT="${ARM64_SYSROOT:-/usr/aarch64-linux-gnu}"
for tool in "$CXX" "$QEMU"; do
  if ! command -v "$tool" >/dev/null; then
    echo "test-arm64: $tool not found. Install the cross compiler and the emulator:" >&2
    echo "  sudo apt-get install -y g++-aarch64-linux-gnu qemu-user" >&2
    exit 1
  fi
done

OUT_DIR="${ARM64_BUILD_DIR:-node_modules/.cache/normkit-arm64}"
DRIVER="$OUT_DIR/driver"
FLAGS=(-std=c++17 -O2 -pthread -fopenmp-simd -fno-math-errno -Wall -Wextra -Werror -Inative)
mkdir -p "$OUT_DIR"
echo "test-arm64: $CXX ${FLAGS[*]} (tier neon)"
kernel_objects "$OUT_DIR/obj" neon "$CXX" "${FLAGS[@]}"
# Every file of the driver, by glob: a kernel's checks register themselves.
DRIVER_SOURCES=(test/native/*.cc)
"$CXX" "${FLAGS[@]}" "${DRIVER_SOURCES[@]}" native/parallel.cc native/kernels/dispatch.cc \
  native/kernels/simd.cc "${KERNEL_OBJECTS[@]}" -o "$DRIVER"

run() { "$QEMU" -L "$SYSROOT" "$DRIVER" "$@"; }
ran="$(run --simd-path)"
if [ "$ran" != "neon" ]; then
  echo "test-arm64: the driver ran the $ran tier, not neon" >&2
  exit 1
fi
echo "test-arm64: running under $QEMU"
if [ "${ARM64_LARGE:-0}" != "1" ]; then export NORMKIT_DRIVER_NO_LARGE=1; fi
run "$@"
