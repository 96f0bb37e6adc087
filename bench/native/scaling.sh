#!/usr/bin/env bash
# Builds and runs bench/native/scaling.cc: kernel thread scaling (1, 2, 4, ... all cores) against
# the copy baseline. Usage: bash bench/native/scaling.sh [case-filter] [reps] [threads]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${TMPDIR:-/tmp}/normkit-scaling"
g++ -std=c++17 -O3 -pthread -fopenmp-simd -fno-math-errno -Wall -Wextra -I"$root/native" \
  "$root/bench/native/scaling.cc" "$root"/native/kernels/*.cc "$root/native/parallel.cc" -o "$out"
"$out" "$@"
