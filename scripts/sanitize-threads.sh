#!/usr/bin/env bash
# The thread pool under ThreadSanitizer (npm run test:sanitize, after the ASan/UBSan scripts):
# builds scripts/sanitize-threads.cc with native/parallel.cc and -fsanitize=thread, and runs it:
# concurrent parallel_for callers, budget changes, nested calls and a throwing part. Any race
# report or wrong coverage fails the run. The binary goes to node_modules/.cache/ (ignored).
#
#   bash scripts/sanitize-threads.sh            # 6 callers x 300 calls
#   bash scripts/sanitize-threads.sh 12 1000    # other counts
set -euo pipefail
cd "$(dirname "$0")/.."

CXX="${CXX:-g++}"
OUT_DIR="${SANITIZE_BUILD_DIR:-node_modules/.cache/normkit-sanitize}"
DRIVER="$OUT_DIR/sanitize-threads"
mkdir -p "$OUT_DIR"

FLAGS=(-std=c++17 -O1 -g -pthread -fsanitize=thread -fno-omit-frame-pointer -Wall -Wextra -Inative)
echo "sanitize-threads: $CXX ${FLAGS[*]}"
"$CXX" "${FLAGS[@]}" scripts/sanitize-threads.cc native/parallel.cc -o "$DRIVER"

export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
"$DRIVER" "$@"
