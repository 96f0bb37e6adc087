#!/usr/bin/env bash
# The addon itself under AddressSanitizer and UBSan (npm run test:sanitize, after
# scripts/sanitize.sh's kernel-only driver): the whole addon (binding and kernels) is built with
# -fsanitize=address,undefined into a shadow copy of the package, and the TypeScript suite (the
# compiled build-test/, the fuzzing included) runs against it there, with node started with the
# ASan runtime preloaded (node itself is not instrumented, so its runtime must come first). The
# shadow package lives in node_modules/.cache/ (ignored, untouched by node-gyp's rebuild of
# build/), so build/Release, the addon `npm test` loads, is left alone. Node's own allocations
# are never freed at exit, so leak checking is off here (the kernel driver keeps it on). Any
# sanitizer report fails the run (halt_on_error, and the suite's exit status).
#
#   npm run test:sanitize                       # both scripts
#   bash scripts/sanitize-addon.sh              # this one; SANITIZE_SPEC=<glob> runs other files
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CXX="${CXX:-g++}"
WORK="${SANITIZE_ADDON_DIR:-$ROOT/node_modules/.cache/normkit-sanitize-addon}"
PKG="$WORK/normkit"
# Every test file (each op's, the binding, the fuzzing, conformance) but those about packaging,
# generated files, docs, workers, threads or timing, which exercise no more of the addon's memory
# handling (ASan makes everything several times slower, and a 1 ms timer late under it says
# nothing about memory). A new op's test file is included by being a test file.
# SANITIZE_SPEC=<glob> runs other files instead.
SKIPPED=(async backend docs edge-numerics generated install package pool threads tiers workers)

LIBASAN="$("$CXX" -print-file-name=libasan.so)"
if [ ! -e "$LIBASAN" ]; then
  echo "sanitize-addon: $CXX has no libasan.so ($LIBASAN); install the compiler's ASan runtime" >&2
  exit 1
fi

# The shadow package: the sources to build, the library and tests compiled into it (not linked:
# node resolves links to their real paths, and the library loads the addon of its own package
# root), the dependencies by link.
rm -rf "$PKG"
mkdir -p "$PKG"
cp -r package.json binding.gyp native "$PKG"/
npx tsc -p tsconfig.json --outDir "$PKG/dist"
npx tsc -p tsconfig.test.json --outDir "$PKG/build-test"
[ -d esm ] && cp -r esm "$PKG"/
[ -f .mocharc.json ] && cp .mocharc.json "$PKG"/
mkdir -p "$PKG/test" && cp test/reporter.js "$PKG/test/"
ln -s "$ROOT/node_modules" "$PKG/node_modules"
# The conformance cases sit beside the repository (../shared).
if [ -d "$ROOT/../shared" ]; then ln -sfn "$(cd "$ROOT/../shared" && pwd)" "$WORK/shared"; fi

# Node's headers: npm's nodedir where npm runs this, else those installed beside node, else
# node-gyp's own download.
NODEDIR="${npm_config_nodedir:-}"
PREFIX="$(dirname "$(dirname "$(command -v node)")")"
if [ -z "$NODEDIR" ] && [ -f "$PREFIX/include/node/node_api.h" ]; then NODEDIR="$PREFIX"; fi
GYP_ARGS=(rebuild --silent --jobs max)
if [ -n "$NODEDIR" ]; then GYP_ARGS+=("--nodedir=$NODEDIR"); fi

SAN_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
echo "sanitize-addon: node-gyp rebuild in $PKG with $SAN_FLAGS -O1 -g"
(
  cd "$PKG"
  # gyp's Makefiles append CXXFLAGS and LDFLAGS after the target's own flags (-O1 wins over -O3).
  CXX="$CXX" CXXFLAGS="$SAN_FLAGS -O1 -g" LDFLAGS="-fsanitize=address,undefined" \
    node "$ROOT/node_modules/node-gyp/bin/node-gyp.js" "${GYP_ARGS[@]}"
)
ADDON="$PKG/build/Release/normkit.node"
if ! ldd "$ADDON" | grep libasan >/dev/null; then
  echo "sanitize-addon: $ADDON is not linked with libasan" >&2
  exit 1
fi

export LD_PRELOAD="$LIBASAN${LD_PRELOAD:+:$LD_PRELOAD}"
# detect_leaks=0: node (not instrumented) never frees some allocations at exit.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1:abort_on_error=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# The suite must run on this addon: a load failure is an error, not a fallback.
export NORMKIT_BACKEND=native

cd "$PKG"
node -e "
  const nk = require('.');
  const addon = require('path').join(process.cwd(), 'build', 'Release', 'normkit.node');
  if (nk.backend !== 'native') throw new Error('the sanitized addon did not load');
  const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
  if (!maps.includes(addon)) throw new Error('loaded an addon other than ' + addon);
  console.log('sanitize-addon: running the suite on ' + addon + ' (' + nk.native.simdPath() + ')');
"
FILES=()
if [ -n "${SANITIZE_SPEC:-}" ]; then
  FILES=("$SANITIZE_SPEC")
else
  for f in build-test/test/*.test.js; do
    name="$(basename "$f" .test.js)"
    [[ " ${SKIPPED[*]} " == *" $name "* ]] || FILES+=("$f")
  done
fi
node node_modules/mocha/bin/mocha.js --no-config --reporter ./test/reporter.js --timeout 120000 \
  "${FILES[@]}"
# The other tiers this CPU runs (the default, its best, ran the suite above): the fuzzing and the
# binding again on each (kernel-paths above already ran every op on every tier).
BEST="$(node -p "require('.').native.simdPath()")"
for tier in avx512 avx2 baseline neon; do
  [ "$tier" = "$BEST" ] && continue
  ran="$(NORMKIT_SIMD="$tier" node -p "require('.').native.simdPath()" 2>/dev/null)"
  [ "$ran" = "$tier" ] || continue
  echo "sanitize-addon: again on the $tier tier (NORMKIT_SIMD=$tier): fuzzing and binding"
  NORMKIT_SIMD="$tier" node node_modules/mocha/bin/mocha.js --no-config \
    --reporter ./test/reporter.js --timeout 120000 \
    build-test/test/fuzz.test.js build-test/test/binding.test.js
done
