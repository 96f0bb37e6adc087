#!/usr/bin/env bash
# Builds and runs bench/native/scaling.cc: kernel thread scaling (1, 2, 4, ... all cores) against
# the copy baseline and the streaming-store limit. Usage:
#   bash bench/native/scaling.sh [case-filter] [reps] [threads]
# The filter `large` (or `large layer_norm`, ...) runs the out-of-cache cases. The kernels are
# built once per SIMD tier, as in the addon; NORMKIT_SIMD=avx512|avx2|baseline picks the tier
# measured (the CPU's best by default).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${TMPDIR:-/tmp}/normkit-scaling"
flags=(-std=c++17 -O3 -pthread -fopenmp-simd -fno-math-errno -Wall -Wextra -I"$root/native")
. "$root/scripts/kernel-tiers.sh"
objects=()
for tier in $(host_tiers); do
  (cd "$root" && kernel_objects "$out.obj" "$tier" g++ "${flags[@]}")
  for src in $(node "$root/native/sources.js" kernels); do
    objects+=("$out.obj/$tier/$(basename "$src" .cc).o")
  done
done
# NORMKIT_SCALING_BINARY=PATH: build a static binary there and run nothing
# (bench/native/bundle.sh).
bin="${NORMKIT_SCALING_BINARY:-$out}"
link=()
if [ -n "${NORMKIT_SCALING_BINARY:-}" ]; then link=(-static); fi
g++ "${flags[@]}" "${link[@]}" "$root/bench/native/scaling.cc" "$root/native/kernels/dispatch.cc" \
  "$root/native/kernels/simd.cc" "$root/native/parallel.cc" "${objects[@]}" -o "$bin"
if [ -z "${NORMKIT_SCALING_BINARY:-}" ]; then "$bin" "$@"; fi
