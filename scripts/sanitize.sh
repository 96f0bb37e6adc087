#!/usr/bin/env bash
# Sanitizer build (npm run test:sanitize): compiles the pure kernels (every kernel file once per
# SIMD tier, as binding.gyp does, plus native/kernels/dispatch.cc, simd.cc and native/parallel.cc)
# with the kernel driver, test/native/*.cc (main.cc, the shared harness.{h,cc} and one file of
# checks per kernel, taken by glob), under AddressSanitizer and UBSan, without N-API or node-gyp,
# and runs the driver on every tier this CPU runs (NORMKIT_SIMD=<tier>; the driver's --simd-tiers
# lists them). The binary goes to node_modules/.cache/ (ignored by git, untouched by node-gyp,
# whose `rebuild` deletes all of build/), so build/Release, the addon that npm test loads, is
# left alone. Any sanitizer report or wrong result fails the run.
#
#   npm run test:sanitize            # threads 1 and 2
#   npm run test:sanitize -- 1 3 8   # other thread counts
#   CXX=clang++ npm run test:sanitize
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/kernel-tiers.sh

CXX="${CXX:-g++}"
OUT_DIR="${SANITIZE_BUILD_DIR:-node_modules/.cache/normkit-sanitize}"
DRIVER="$OUT_DIR/sanitize-driver"
mkdir -p "$OUT_DIR"

FLAGS=(-std=c++17 -O1 -g -pthread -fsanitize=address,undefined -fno-sanitize-recover=all
  -fno-omit-frame-pointer -fno-math-errno -fopenmp-simd -Wall -Wextra -Inative)

echo "sanitize: $CXX ${FLAGS[*]}, tiers $(host_tiers)"
OBJECTS=()
for tier in $(host_tiers); do
  kernel_objects "$OUT_DIR/obj" "$tier" "$CXX" "${FLAGS[@]}"
  OBJECTS+=("${KERNEL_OBJECTS[@]}")
done
# Every file of the driver, by glob: a kernel's checks register themselves.
DRIVER_SOURCES=(test/native/*.cc)
"$CXX" "${FLAGS[@]}" "${DRIVER_SOURCES[@]}" native/parallel.cc \
  native/kernels/dispatch.cc native/kernels/simd.cc "${OBJECTS[@]}" -o "$DRIVER"

# Leak checking stays on; halt at the first report so a finding cannot scroll past unnoticed.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

TIERS="$("$DRIVER" --simd-tiers)"
for tier in $TIERS; do
  echo "sanitize: tier $tier (NORMKIT_SIMD=$tier)"
  ran="$(NORMKIT_SIMD="$tier" "$DRIVER" --simd-path)"
  if [ "$ran" != "$tier" ]; then
    echo "sanitize: NORMKIT_SIMD=$tier ran $ran" >&2
    exit 1
  fi
  NORMKIT_SIMD="$tier" "$DRIVER" "$@"
done
echo "sanitize: every tier passed ($TIERS)"
