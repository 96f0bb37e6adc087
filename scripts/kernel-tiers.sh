# Sourced by the kernel-only builds (scripts/sanitize.sh, scripts/test-arm64.sh,
# bench/native/scaling.sh): compiles every kernel file (native/sources.js `kernels`) once per SIMD
# tier, as binding.gyp does, without node-gyp.
#
#   tier_flags <tier>                          the tier's instruction-set flags and define
#   kernel_objects <out-dir> <tier> <cxx> [flags...]
#                                              compiles the kernel files for <tier> into
#                                              <out-dir>/<tier>/ and sets KERNEL_OBJECTS to them;
#                                              an object newer than every file under native/,
#                                              built with the same compiler and flags, is kept
#   host_tiers                                 the tiers binding.gyp builds for this host
# The flags must match binding.gyp's kernels_<tier> targets.

tier_flags() {
  case "$1" in
    avx512) echo "-DNORMKIT_TIER_AVX512 -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma -mbmi2" ;;
    avx2) echo "-DNORMKIT_TIER_AVX2 -mavx2 -mfma" ;;
    baseline) echo "-DNORMKIT_TIER_BASELINE" ;;
    neon) echo "-DNORMKIT_TIER_NEON" ;;
    *) echo "unknown tier $1" >&2; return 1 ;;
  esac
}

host_tiers() {
  case "$(uname -m)" in
    x86_64) echo "baseline avx2 avx512" ;;
    aarch64 | arm64) echo "neon" ;;
    *) echo "baseline" ;;
  esac
}

kernel_objects() {
  local out="$1/$2" tier="$2" cxx="$3"
  shift 3
  local flags
  flags="$(tier_flags "$tier")" || return 1
  mkdir -p "$out"
  KERNEL_OBJECTS=()
  # Objects are reused only when built by this compiler with these flags (a stamp beside them)
  # and newer than every source and header under native/.
  local native stamp="$cxx $* $flags"
  native="$(dirname "${BASH_SOURCE[0]}")/../native"
  if [ "$(cat "$out/.flags" 2>/dev/null)" != "$stamp" ]; then
    rm -f "$out"/*.o
    printf '%s' "$stamp" >"$out/.flags"
  fi
  # A compiler per core at a time (KERNEL_JOBS overrides).
  local jobs="${KERNEL_JOBS:-$(nproc 2>/dev/null || echo 2)}"
  local src obj pid pids=() status=0
  for src in $(node "$(dirname "${BASH_SOURCE[0]}")/../native/sources.js" kernels); do
    obj="$out/$(basename "$src" .cc).o"
    KERNEL_OBJECTS+=("$obj")
    if [ -f "$obj" ] && [ -z "$(find "$native" -type f -newer "$obj" -print -quit)" ]; then
      continue
    fi
    # shellcheck disable=SC2086
    "$cxx" "$@" $flags -c "$src" -o "$obj" &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$jobs" ]; then
      wait "${pids[0]}" || status=1
      pids=("${pids[@]:1}")
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  return $status
}
