#!/usr/bin/env bash
# Packs the thread-scaling bench for a machine without Node or a compiler (a larger server, a
# lent test machine): bash bench/native/bundle.sh DIR writes into DIR
#   scaling            bench/native/scaling.cc with every kernel tier, linked statically
#   torch_peer.py      the PyTorch peer of bench/run.js
#   spec-cache.json    the in-cache throughput cases, as run.js hands them to the peer
#   spec-large.json    the out-of-cache ones (512 MiB inputs)
#   run.sh             runs both at 1, 2, 4, ... all cores, PyTorch too where python3 has torch
# Copy DIR there and run `bash DIR/run.sh [OUT]`: the kernels' tables (scaling.sh's columns) and
# PyTorch's JSON (torch_peer.py's) land in OUT (default DIR/results). NORMKIT_SIMD=avx2 (and
# ATEN_CPU_CAPABILITY=avx2) measure one tier; STREAMING=compare adds the kernels with streaming
# stores forced on and off; REPS sets the kernels' rounds (11; 7 out of cache).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${1:?usage: bash bench/native/bundle.sh DIR}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
NORMKIT_SCALING_BINARY="$dir/scaling" bash "$root/bench/native/scaling.sh"
cp "$root/bench/torch_peer.py" "$dir/"
# The cases as bench/run.js sends them to the peer (it needs dist/: npm run build:ts).
node -e '
const { CASES } = require(process.argv[1]);
const fs = require("fs");
const spec = (cases) => JSON.stringify({
  cases: cases.map((c) => ({ id: c.id, name: c.name, op: c.op, shape: c.shape, layout: c.layout,
    training: c.training, kind: c.kind, peer: c.peer })),
  threads: [1],
  opts: { budgetS: 0.4, minReps: 5, maxReps: 25, warmupS: 0.05, minWarmup: 2, sampleS: 0.01 },
});
const cases = CASES.filter((c) => c.kind !== "latency");
fs.writeFileSync(process.argv[2] + "/spec-cache.json", spec(cases.filter((c) => !c.outOfCache)));
fs.writeFileSync(process.argv[2] + "/spec-large.json", spec(cases.filter((c) => c.outOfCache)));
' "$root/bench/cases.js" "$dir"
cat >"$dir/run.sh" <<'RUN'
#!/usr/bin/env bash
# Written by normkit's bench/native/bundle.sh; see there.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/results}"
mkdir -p "$out"
threads="$(python3 -c 'import os; n = os.cpu_count(); t = [1]
while t[-1] * 2 < n: t.append(t[-1] * 2)
print(" ".join(map(str, t + [n] if t[-1] != n else t)))' 2>/dev/null || echo 1)"
{ lscpu 2>/dev/null || cat /proc/cpuinfo; } >"$out/machine.txt"
cp "$here"/spec-*.json "$out/"  # the case names and ids, for bench/native/table.py
stream=()
if [ "${STREAMING:-}" = compare ]; then stream=(env NORMKIT_SCALING_STREAMING=compare); fi
"${stream[@]}" "$here/scaling" "" "${REPS:-11}" >"$out/normkit-cache.txt" 2>&1
"${stream[@]}" "$here/scaling" large "${REPS:-7}" >"$out/normkit-large.txt" 2>&1
# PyTorch at the same thread counts, where python3 has torch.
if python3 -c 'import torch' 2>/dev/null; then
  for part in cache large; do
    python3 -c 'import json, sys
spec = json.load(open(sys.argv[1])); spec["threads"] = [int(t) for t in sys.argv[2:]]
print(json.dumps(spec))' "$here/spec-$part.json" $threads |
      python3 "$here/torch_peer.py" >"$out/torch-$part.json" 2>"$out/torch-$part.log"
  done
fi
echo "results in $out"
RUN
chmod +x "$dir/run.sh"
echo "bench/native/bundle.sh: wrote $dir (copy it to the machine and run: bash run.sh)"
