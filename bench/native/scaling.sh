#!/usr/bin/env bash
# Builds and runs bench/native/scaling.cc: kernel thread scaling (1, 2, 4, ... all cores) against
# the copy baseline and the streaming-store limit. Usage:
#   bash bench/native/scaling.sh [case-filter] [reps] [threads]
# The filter `large` (or `large layer_norm`, ...) runs the out-of-cache cases.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${TMPDIR:-/tmp}/normkit-scaling"
g++ -std=c++17 -O3 -pthread -fopenmp-simd -fno-math-errno -Wall -Wextra -I"$root/native" \
  "$root/bench/native/scaling.cc" "$root"/native/kernels/*.cc "$root/native/parallel.cc" -o "$out"
"$out" "$@"
