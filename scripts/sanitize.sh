#!/usr/bin/env bash
# Sanitizer build (npm run test:sanitize): compiles the pure kernels (native/kernels/*.cc,
# native/parallel.cc) with scripts/sanitize-driver.cc under AddressSanitizer and UBSan, without
# N-API or node-gyp, and runs the driver on every kernel path this CPU has: the hand-written
# AVX-512 one where it runs, and the portable one (NORMKIT_SIMD=generic). The binary goes to
# node_modules/.cache/ (ignored by git, untouched by node-gyp, whose `rebuild` deletes all of
# build/), so build/Release, the addon that npm test loads, is left alone. Any sanitizer report
# or wrong result fails the run.
#
#   npm run test:sanitize            # threads 1 and 2
#   npm run test:sanitize -- 1 3 8   # other thread counts
#   CXX=clang++ npm run test:sanitize
set -euo pipefail
cd "$(dirname "$0")/.."

CXX="${CXX:-g++}"
OUT_DIR="${SANITIZE_BUILD_DIR:-node_modules/.cache/normkit-sanitize}"
DRIVER="$OUT_DIR/sanitize-driver"
mkdir -p "$OUT_DIR"

FLAGS=(-std=c++17 -O1 -g -pthread -fsanitize=address,undefined -fno-sanitize-recover=all
  -fno-omit-frame-pointer -fno-math-errno -fopenmp-simd -Wall -Wextra -Inative)
SOURCES=(scripts/sanitize-driver.cc native/parallel.cc native/kernels/*.cc)

echo "sanitize: $CXX ${FLAGS[*]}"
"$CXX" "${FLAGS[@]}" "${SOURCES[@]}" -o "$DRIVER"

# Leak checking stays on; halt at the first report so a finding cannot scroll past unnoticed.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

unset NORMKIT_SIMD
"$DRIVER" "$@"
if [ "$("$DRIVER" --simd-path)" = "avx512" ]; then
  echo "sanitize: again on the portable kernels (NORMKIT_SIMD=generic)"
  NORMKIT_SIMD=generic "$DRIVER" "$@"
fi
