#!/usr/bin/env node
'use strict';

// normkit benchmark: `npm run bench` (node bench/run.js). Times normkit's native backend against
// the memory limit (a streaming-store copy of the same bytes, measured before and after each
// case in the same run) and against what else a Node.js user has: a plain JS loop,
// onnxruntime-node, oneDNN (where libdnnl is installed) and, with --torch, PyTorch, at 1 thread
// and at all cores, on one SIMD tier (--tier). Prints a narrow table and writes the JSON report
// (every figure, the targets and their verdicts) and a chart to the ignored bench/results/.
// See bench/README.md.
//
// Nothing here knows an op: a case names its op (a descriptor name) and builds its arguments
// (cases.js), and every implementation is called as `impl[op](...args)`.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const { CASES, SCALING_MIN } = require('./cases');
const { measure, sleep } = require('./measure');
const plain = require('./plain');
const ortPeer = require('./ort');
const onednn = require('./onednn');
const { ensureBenchDeps } = require('./deps');
const { loadStreamCopy } = require('./build');
const { TIERS, ATEN, machineInfo, selectTier } = require('./machine');

const BENCH_DIR = __dirname;
const REPO_ROOT = path.resolve(BENCH_DIR, '..');
const RESULTS_DIR = path.join(BENCH_DIR, 'results');
// The peers each normkit row is compared with, in the table's column order.
const PEERS = ['plain', 'onnxruntime', 'torch', 'onednn'];
const SINGLE_THREADED = ['reference', 'plain'];
const IMPLS = ['normkit', 'unfused', 'reference', 'plain', 'onnxruntime', 'torch', 'onednn'];
// Yardsticks: `limit` is the streaming-store copy, `copy` the addon's ordinary copy loop.
const YARDSTICKS = ['limit', 'copy'];
// The native add the unfused pair would need moves 3 streams (2 reads, 1 write) where the copy
// baseline moves 2: the estimate of a native pair is norm-only + 1.5 x copy.
const NATIVE_ADD_COPIES = 1.5;
const MISMATCH_TOL = 1e-3;
const BUSY_FLAG = 0.05; // flag rows where other processes used >= 5% of the machine
// Out-of-cache cases hold an input and an output of up to 512 MiB each; a peer holds its own.
const OUT_OF_CACHE_FREE_BYTES = 3 * 2 ** 30;

const USAGE = `Usage: node bench/run.js [options]

  --quick            fewer repetitions, in-cache cases only unless --large (smoke run)
  --tier TIER        avx512, avx2 or baseline: NORMKIT_SIMD for normkit, DNNL_MAX_CPU_ISA for
                     oneDNN, ATEN_CPU_CAPABILITY for PyTorch (default: the best normkit runs)
  --threads LIST     thread counts, e.g. 1,2 (default: 1 and os.availableParallelism())
  --filter TEXT      only cases whose id or name contains TEXT (case-insensitive);
                     comma-separated for several, e.g. --filter ln-,latency
  --large            include the out-of-cache cases (default, except with --quick)
  --no-large         leave the out-of-cache cases out
  --impl LIST        only these implementations (normkit,unfused,reference,plain,onnxruntime,
                     torch,onednn; unfused brings norm-only; the copies always run)
  --torch            add PyTorch (python3 + torch, optional) as a peer
  --json PATH        write the JSON report to PATH (and the chart beside it, .svg) instead of
                     bench/results/latest.json, latest.svg and a timestamped copy
  --lib PATH         load normkit from PATH instead of the repo root
  -h, --help         this text`;

function parseArgs(argv) {
  const opts = { quick: false, threads: null, filter: null, impl: null, torch: false };
  Object.assign(opts, { json: null, lib: null, tier: null, large: null });
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    const flag = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    switch (flag) {
      case '--quick':
        opts.quick = true;
        break;
      case '--torch':
        opts.torch = true;
        break;
      case '--large':
        opts.large = true;
        break;
      case '--no-large':
        opts.large = false;
        break;
      case '--tier':
        opts.tier = value().trim().toLowerCase();
        if (!TIERS.includes(opts.tier)) fail(`--tier takes one of ${TIERS.join(', ')}`);
        break;
      case '--threads':
        opts.threads = value()
          .split(',')
          .map((s) => Number(s.trim()));
        if (!opts.threads.length || opts.threads.some((t) => !Number.isInteger(t) || t < 1)) {
          fail('--threads takes positive integers, e.g. --threads 1,2');
        }
        break;
      case '--filter':
        opts.filter = value().toLowerCase().split(',').filter(Boolean);
        break;
      case '--impl':
        opts.impl = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        for (const impl of opts.impl) {
          if (!IMPLS.includes(impl))
            fail(`unknown implementation ${impl} (one of ${IMPLS.join(', ')})`);
        }
        break;
      case '--json':
        opts.json = path.resolve(value());
        break;
      case '--lib':
        opts.lib = path.resolve(value());
        break;
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        fail(`unknown option ${a}`);
    }
  }
  return opts;
}

function fail(message, { usage = true } = {}) {
  console.error(`bench: ${message}${usage ? `\n\n${USAGE}` : ''}`);
  process.exit(2);
}

const log = (...args) => console.error(...args);

// ---- inputs -------------------------------------------------------------------------------

// Deterministic uniform values in [lo, hi) (xorshift32), fast enough for large inputs.
function fillUniform(arr, lo, hi, seed) {
  let s = seed >>> 0 || 1;
  const scale = (hi - lo) / 4294967296;
  for (let i = 0; i < arr.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    arr[i] = lo + s * scale;
  }
  return arr;
}

const numel = (shape) => shape.reduce((a, b) => a * b, 1);

// The data a case's `args` builds from: its input tensors, preallocated outputs and parameters
// of `c.params` values. `bytes` is what the op moves (c.streams arrays of the input's size);
// the copy baseline moves 2.
function makeData(c) {
  const n = numel(c.shape);
  const p = c.params;
  const x = fillUniform(new Float32Array(n), -2, 3, 12345);
  const d = {
    n,
    x,
    input: { data: x, shape: c.shape },
    out: new Float32Array(n),
    weight: fillUniform(new Float32Array(p), 0.5, 1.5, 7),
    bias: fillUniform(new Float32Array(p), -0.5, 0.5, 11),
    runningMean: fillUniform(new Float32Array(p), -0.5, 0.5, 13),
    runningVar: fillUniform(new Float32Array(p), 0.5, 2, 17),
    bytes: c.streams * n * 4,
    copyBytes: 2 * n * 4,
  };
  if (c.inputs > 1) {
    d.residual = { data: fillUniform(new Float32Array(n), -1, 1, 54321), shape: c.shape };
    d.sumOut = new Float32Array(n);
    d.sum = { data: d.sumOut, shape: c.shape };
  }
  return d;
}

// The arrays of a result to check: a tensor's data, or a fused op's { output, sum }.
function resultArrays(r) {
  if (!r) return null;
  if (r instanceof Float32Array) return { output: r };
  if (r.output && r.output.data instanceof Float32Array) {
    return { output: r.output.data, sum: r.sum && r.sum.data };
  }
  if (r.data instanceof Float32Array) return { output: r.data };
  return null;
}

function resultError(got, want) {
  let m = maxAbsDiff(got.output, want.output);
  if (got.sum && want.sum) m = Math.max(m, maxAbsDiff(got.sum, want.sum));
  return m;
}

function maxAbsDiff(a, b) {
  if (!a || !b || a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > m || d !== d) m = d !== d ? Infinity : d;
  }
  return m;
}

// ---- contention -----------------------------------------------------------------------------

// CPU time other processes used while a row was timed (Linux /proc/stat, whole machine, minus
// this process's own CPU time), as a share of all cores over the row's wall time. Another
// process competing for the cores makes multi-threaded rows stall, so such rows are flagged.
function cpuMonitor() {
  const readStat = () => {
    try {
      const [line] = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1);
      const v = line.trim().split(/\s+/).slice(1).map(Number);
      // user nice system idle iowait irq softirq steal
      return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / 100;
    } catch {
      return null;
    }
  };
  const busy0 = readStat();
  const own0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  return () => {
    const busy1 = readStat();
    if (busy0 === null || busy1 === null) return null;
    const own = process.cpuUsage(own0);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const others = busy1 - busy0 - (own.user + own.system) / 1e6;
    const cores = os.cpus().length;
    // /proc/stat counts in 10 ms ticks: ignore less than two ticks per core.
    if (wall <= 0 || others < 0.02 * cores) return 0;
    return Math.min(1, others / (wall * cores));
  };
}

// ---- implementations ----------------------------------------------------------------------

// Each implementation for a case: { impl, async?, fn(k) running k calls, output() -> the
// last result (for the correctness check) or null, release?() }.

// One call of op `op` of `api` (normkit, normkit.reference or plain.ops) with the arguments the
// case builds, built once per implementation. The call is spelled out per argument count so
// that the latency cases time the call, not a spread.
function opCall(api, op, args) {
  const f = api[op];
  if (typeof f !== 'function') throw new Error(`no function ${op}`);
  const [a, b, c, d] = args;
  switch (args.length) {
    case 1:
      return () => f(a);
    case 2:
      return () => f(a, b);
    case 3:
      return () => f(a, b, c);
    case 4:
      return () => f(a, b, c, d);
    default:
      return () => f(...args);
  }
}

// Arrays the call updates (running statistics) are copied with `fresh`, so that each
// implementation starts from the same state.
const argOptions = (withOut) => ({ withOut, fresh: (a) => a.slice() });

function caseCall(api, c, d, { withOut }) {
  return opCall(api, c.op, c.args(d, argOptions(withOut)));
}

// The unfused pair of a fused residual op: `sum = input + residual` with a plain JS loop into
// the preallocated sum (what a user has without the fused op), then the norm on normkit.
function pairCall(nk, c, d) {
  const norm = opCall(nk, c.pair.op, c.pair.args(d, argOptions(true)));
  const { x } = d;
  const r = d.residual.data;
  const sum = d.sumOut;
  return () => {
    plain.add(x, r, sum);
    return { output: norm(), sum: d.sum };
  };
}

// The norm of the pair alone, on the sum the pair left: what a native add would be added to.
function normOnlyCall(nk, c, d) {
  return opCall(nk, c.pair.op, c.pair.args(d, argOptions(true)));
}

// Wraps one call into fn(k) that keeps the last result for the check.
function syncImpl(impl, call) {
  let last = null;
  return {
    impl,
    fn: (k) => {
      let r;
      for (let i = 0; i < k; i++) r = call();
      last = r;
    },
    output: () => resultArrays(last),
  };
}

async function ortImpl(ortMod, c, d, threads, { withOut }) {
  const { ort } = ortMod;
  const model = ortPeer.modelFor(c);
  const session = await ortPeer.createSession(ort, model, threads);
  const input = new ort.Tensor('float32', d.x, c.shape);
  const feeds = { [session.inputNames[0]]: input };
  const fetches = withOut
    ? { [session.outputNames[0]]: new ort.Tensor('float32', d.out, c.shape) }
    : undefined;
  return {
    impl: 'onnxruntime',
    async: true,
    fn: fetches
      ? async (k) => {
          for (let i = 0; i < k; i++) await session.run(feeds, fetches);
        }
      : async (k) => {
          for (let i = 0; i < k; i++) await session.run(feeds);
        },
    // The models carry their own random parameters: no comparison with the others.
    output: () => null,
    release: () => session.release(),
  };
}

// The addon's ordinary copy loop, y = a * x + b on the library's threads (the yardstick of the
// in-cache targets).
function copyImpl(native, d) {
  if (native && typeof native.copyBaseline === 'function') {
    return syncImpl('copy', () => native.copyBaseline(d.x, d.out, 1.5, 0.25));
  }
  // No addon: a JS loop stands in (marked copyKind 'js' in the report).
  const r = syncImpl('copy', () => {
    const { x, out } = d;
    for (let i = 0; i < x.length; i++) out[i] = 1.5 * x[i] + 0.25;
  });
  r.copyKind = 'js';
  return r;
}

// The memory limit: the same y = a * x + b written with streaming stores on `threads` threads at
// the tier's vector width (native/stream_copy.cc), or the ordinary copy where it cannot be built.
function limitImpl(stream, native, d, threads, tier) {
  if (stream) {
    const r = syncImpl('limit', () => stream.streamCopy(d.x, d.out, 1.5, 0.25, threads, tier));
    r.copyKind = 'stream';
    return r;
  }
  const r = { ...copyImpl(native, d), impl: 'limit' };
  r.copyKind = r.copyKind || 'plain';
  return r;
}

// ---- loading ------------------------------------------------------------------------------

function loadNormkit(libPath) {
  const where = libPath || REPO_ROOT;
  try {
    // The package directory itself: a bare path would load DIR.json first where such a file
    // exists (a --json report written beside it, say).
    return { nk: require(path.join(where, path.sep)), where };
  } catch (err) {
    return { error: err.message.split('\n')[0], where };
  }
}

function normkitInfo(nk, nativeOk) {
  const native = nativeOk ? nk.native : null;
  const call = (f, fallback) => {
    try {
      return f();
    } catch {
      return fallback;
    }
  };
  return {
    backend: nk ? nk.backend : null,
    simdPath: native ? call(() => native.simdPath(), 'unknown') : 'n/a',
    multithreaded: native ? call(() => native.multithreaded(), null) : null,
  };
}

// ---- torch ------------------------------------------------------------------------------

function findPython() {
  const candidates = [process.env.NORMKIT_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter(
    Boolean,
  );
  const tried = [];
  for (const py of [...new Set(candidates)]) {
    const r = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python: py, version: r.stdout.trim() };
    tried.push(py);
  }
  return {
    error: `no python3 with torch found (tried ${tried.join(', ')}; Debian: apt-get install python3-torch)`,
  };
}

// ATEN_CPU_CAPABILITY limits ATen's kernels to the tier measured (read when torch loads).
function runTorch(python, cases, threads, sampling, capability) {
  const spec = {
    cases: cases.map((c) => ({
      id: c.id,
      op: c.op,
      shape: c.shape,
      layout: c.layout,
      training: c.training,
      kind: c.kind,
      peer: c.peer,
    })),
    threads,
    opts: sampling,
  };
  const r = spawnSync(python, [path.join(BENCH_DIR, 'torch_peer.py')], {
    input: JSON.stringify(spec),
    encoding: 'utf8',
    env: { ...process.env, ATEN_CPU_CAPABILITY: capability },
    stdio: ['pipe', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) return { error: r.error.message };
  try {
    const lines = r.stdout.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]);
  } catch {
    return { error: `torch_peer.py exited with status ${r.status} and no JSON result` };
  }
}

// ---- analysis -----------------------------------------------------------------------------

const isBusy = (r) => Boolean(r && r.otherLoad >= BUSY_FLAG);

// Adds to every row its GB/s, its fraction of the limit and of the copy, its speed relative to
// each peer, its thread scaling and (fused ops) the pair ratios; returns the targets with their
// verdicts (they go to the JSON only).
function analyze(cases, results, allCores) {
  const find = (id, impl, t) =>
    results.find((r) => r.case === id && r.impl === impl && r.threads === t);
  for (const r of results) {
    const c = cases.find((x) => x.id === r.case);
    r.gbps = r.bytes / r.median / 1e9;
    const limit = find(r.case, 'limit', r.threads);
    if (limit) r.limitRatio = r.gbps / (limit.bytes / limit.median / 1e9);
    const copy = find(r.case, 'copy', r.threads);
    if (copy) {
      r.copyRatio = r.gbps / (copy.bytes / copy.median / 1e9);
      r.copyTimeRatio = r.median / copy.median;
    }
    if (!YARDSTICKS.includes(r.impl)) {
      r.vsPeer = {};
      for (const p of PEERS) {
        const peer = p !== r.impl && find(r.case, p, r.threads);
        if (peer) r.vsPeer[p] = peer.median / r.median;
      }
      const ratios = Object.values(r.vsPeer);
      if (ratios.length) r.vsBestPeer = Math.min(...ratios);
    }
    const one = find(r.case, r.impl, 1);
    if (one && r.threads > 1 && !r.reused) r.scaling = one.median / r.median;
    // Fused residual ops: speed relative to the unfused pair (JS add + normkit norm), and to an
    // estimate of a native pair (the norm alone + a native add at the copy loop's bandwidth).
    const pair = c.pair && r.impl === 'normkit' && find(r.case, 'unfused', r.threads);
    if (pair) r.pairRatio = pair.median / r.median;
    const normOnly = c.pair && r.impl === 'normkit' && find(r.case, 'norm-only', r.threads);
    if (normOnly && copy) {
      r.nativePairEstimate = normOnly.median + NATIVE_ADD_COPIES * copy.median;
      r.nativePairRatio = r.nativePairEstimate / r.median;
    }
  }

  // Targets: the normkit row at all cores.
  const targets = [];
  const TEXT = {
    copyRatio: (t) => `GB/s >= ${t.min} x copy`,
    copyTime: (t) => `time <= ${t.max} x copy`,
    limitRatio: (t) => `GB/s >= ${t.min} x streaming-store copy`,
    latencyUs: (t) => `<= ${t.max} µs/call`,
    pairRatio: (t) => `>= ${t.min} x unfused pair`,
  };
  const VALUE = {
    copyRatio: (r) => r.copyRatio,
    copyTime: (r) => r.copyTimeRatio,
    limitRatio: (r) => r.limitRatio,
    latencyUs: (r) => r.median * 1e6,
    pairRatio: (r) => r.pairRatio,
  };
  for (const c of cases) {
    const r = find(c.id, 'normkit', allCores);
    const specs = [...c.targets];
    // Issue 7: faster than oneDNN and PyTorch at the same tier wherever they have the case.
    for (const p of ['onednn', 'torch']) {
      if (find(c.id, p, allCores)) specs.push({ type: 'peerRatio', peer: p, min: 1 });
    }
    for (const t of specs) {
      const entry = { case: c.id, name: c.name, type: t.type, threads: allCores, pass: null };
      entry.limit = t.min !== undefined ? t.min : t.max;
      entry.text = t.type === 'peerRatio' ? `faster than ${t.peer}` : TEXT[t.type](t);
      if (t.peer) entry.peer = t.peer;
      targets.push(entry);
      if (!r) continue;
      entry.value = t.type === 'peerRatio' ? r.vsPeer && r.vsPeer[t.peer] : VALUE[t.type](r);
      if (Number.isFinite(entry.value)) {
        entry.pass = t.max !== undefined ? entry.value <= t.max : entry.value >= t.min;
      }
      if (t.type === 'pairRatio' && Number.isFinite(r.nativePairRatio)) {
        entry.nativePairRatio = r.nativePairRatio;
      }
      const others = ['copy', 'limit', t.type === 'pairRatio' ? 'unfused' : t.peer].filter(Boolean);
      entry.busy = isBusy(r) || others.some((o) => isBusy(find(c.id, o, allCores)));
    }
    // Out of cache, memory bandwidth bounds the speed-up: their scaling is reported, not judged.
    if (c.large && !c.outOfCache && allCores > 1) {
      const entry = {
        case: c.id,
        name: c.name,
        type: 'scaling',
        threads: allCores,
        limit: SCALING_MIN,
      };
      entry.text = `${allCores} threads >= ${SCALING_MIN} x 1 thread`;
      entry.pass = null;
      if (r && Number.isFinite(r.scaling)) {
        entry.value = r.scaling;
        entry.pass = r.scaling >= SCALING_MIN;
        entry.busy = isBusy(r) || isBusy(find(c.id, 'normkit', 1));
      }
      targets.push(entry);
    }
  }
  return targets;
}

// ---- printing -----------------------------------------------------------------------------

function fmtTime(s, latency) {
  if (!Number.isFinite(s)) return '-';
  if (latency || s < 1e-3) {
    const us = s * 1e6;
    return `${us < 10 ? us.toFixed(3) : us < 100 ? us.toFixed(2) : us.toFixed(1)} µs`;
  }
  const ms = s * 1e3;
  return `${ms < 10 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
}

// Words of `text` on lines of at most `width` columns.
function wrap(text, width) {
  const lines = [''];
  for (const word of text.split(' ')) {
    const cur = lines[lines.length - 1];
    if (cur && cur.length + 1 + word.length > width) lines.push(word);
    else lines[lines.length - 1] = cur ? `${cur} ${word}` : word;
  }
  return lines.join('\n');
}

const fmtNum = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '-');
const fmtRatio = (v) =>
  !Number.isFinite(v) ? '-' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
const fmtGbps = (v) =>
  !Number.isFinite(v) ? '-' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3);

const PEER_HEADER = { plain: 'plain', onnxruntime: 'onnx', torch: 'torch', onednn: 'oneDNN' };

// One line per case and thread count, for normkit (the reference backend where the addon is
// missing): its median, GB/s, fraction of the memory limit, and each peer's time / its time.
// Sized for an 80 to 100 column terminal; everything else is in the JSON.
function printTable(cases, results, threads, tier, subject) {
  const header = [
    'case',
    'thr',
    'tier',
    'median',
    'GB/s',
    'xlim',
    ...PEERS.map((p) => PEER_HEADER[p]),
  ];
  const rows = [];
  for (const c of cases) {
    for (const t of threads) {
      const r = results.find((x) => x.case === c.id && x.impl === subject && x.threads === t);
      if (!r) continue;
      const lat = c.kind === 'latency';
      rows.push([
        c.name,
        String(t),
        r.tier || tier,
        fmtTime(r.median, lat) + (isBusy(r) ? '!' : ' '),
        lat ? '-' : fmtGbps(r.gbps),
        lat ? '-' : fmtRatio(r.limitRatio),
        ...PEERS.map((p) => fmtRatio(r.vsPeer && r.vsPeer[p])),
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((cell, i) => (i === 0 || i === 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join(' ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join(' '));
  for (const r of rows) console.log(line(r));
}

function printHeader(machine, nkInfo, tierInfo, peers, threads, opts, sampling, notes) {
  const llc = machine.llc
    ? `LLC ${Math.round(machine.llc.bytes / 2 ** 20)} MiB (L${machine.llc.level}, ${machine.llc.source})`
    : 'LLC unknown';
  const pool = nkInfo.multithreaded === null ? 'n/a' : nkInfo.multithreaded ? 'on' : 'off';
  const peer = (name, p, absent) =>
    !p ? `${name} ${absent}` : p.available ? `${name} ${p.version}` : `${name} unavailable`;
  console.log('normkit bench');
  console.log(
    `  cpu      ${machine.cpu}; ${machine.cores} cores; ${llc}; ${machine.memoryGiB} GiB`,
  );
  console.log(
    `  node     ${machine.node} on ${machine.platform}; load average ${machine.loadavg.join(' ')}`,
  );
  console.log(
    `  normkit  backend ${nkInfo.backend || 'n/a'}, simd ${nkInfo.simdPath}, thread pool ${pool}`,
  );
  const [first, ...rest] = tierInfo.settings;
  console.log(`  tier     ${tierInfo.tier}: ${first}`);
  for (let i = 0; i < rest.length; i += 2)
    console.log(`           ${rest.slice(i, i + 2).join(', ')}`);
  console.log(
    `  peers    ${[
      'plain JS',
      peer('onnxruntime-node', peers.onnxruntime, 'skipped'),
      peer('oneDNN', peers.onednn, 'not run'),
      peer('torch', peers.torch, '(add --torch)'),
    ].join(', ')}`,
  );
  console.log(
    `  threads  ${threads.join(', ')}; ${opts.quick ? 'quick' : 'default'} run: median of >= ` +
      `${sampling.minReps} samples (3 for reference/plain), about ${sampling.budgetS} s per row`,
  );
  for (const n of notes)
    console.log(
      wrap(n, 85)
        .replace(/^/gm, '  note     ')
        .replace(/\n  note     /g, '\n           '),
    );
  console.log('');
}

// Second run of a yardstick for a (case, threads): keeps the faster run, records both medians,
// so a passing disturbance does not make the yardstick look slow.
function mergeAgain(results, caseId, impl, threads, stats, extra) {
  const first = results.find((r) => r.case === caseId && r.impl === impl && r.threads === threads);
  if (!first) return;
  const medians = [first.median, stats.median];
  if (stats.median < first.median) Object.assign(first, stats, extra);
  first.againMedians = medians;
  log(`  ${impl} again: ${medians.map((m) => fmtTime(m)).join(' / ')}, kept the faster`);
}

// Times every implementation of one case at each thread count, appending to ctx.results.
async function benchCase(c, ctx) {
  const { nk, native, nativeOk, ortMod, threads, sampling, slowSampling, wanted, notes } = ctx;
  const { results, jsCache, setThreads, stream, tier } = ctx;
  const d = makeData(c);
  const latency = c.kind === 'latency';
  const record = (impl, t, stats, extra = {}) => {
    const r = {
      case: c.id,
      impl,
      shape: c.shape,
      threads: t,
      tier,
      ...stats,
      bytes: d.bytes,
      ...extra,
    };
    if (YARDSTICKS.includes(impl) || impl === 'norm-only') r.bytes = d.copyBytes;
    results.push(r);
    const unit =
      c.kind === 'latency'
        ? `${(stats.median * 1e6).toFixed(3)} µs/call`
        : `${(stats.median * 1e3).toFixed(3)} ms`;
    log(
      `  ${c.name} | ${impl} | ${t} thr: ${unit}${extra.reused ? ' (reused: single-threaded JS)' : ''}`,
    );
    return r;
  };

  // Expected output (reference, else plain) for the correctness column; not on the
  // out-of-cache cases (the same kernels as in cache, and the float64 reference takes seconds).
  let expected = null;
  if (!c.outOfCache) {
    try {
      const api = nk && nk.reference ? nk.reference : plain.ops;
      expected = resultArrays(caseCall(api, c, d, { withOut: false })());
    } catch (err) {
      notes.push(`${c.name}: expected output failed: ${err.message}`);
    }
  }

  for (const t of threads) {
    setThreads(t);
    // The yardsticks first and again last: the streaming-store copy (the memory limit) on every
    // case, the ordinary copy on the in-cache ones (their targets are set against it).
    const yardsticks = () => {
      const list = [limitImpl(stream, native, d, t, tier)];
      if (!c.outOfCache) list.push(copyImpl(native, d));
      return list;
    };
    const impls = yardsticks();
    if (nativeOk && wanted('normkit')) {
      impls.push(syncImpl('normkit', caseCall(nk, c, d, { withOut: !latency })));
      if (latency) impls.push(syncImpl('normkit+out', caseCall(nk, c, d, { withOut: true })));
    }
    if (nativeOk && c.pair && wanted('unfused')) {
      impls.push(syncImpl('unfused', pairCall(nk, c, d)));
      // After the pair, which leaves the sum in d.sumOut for the norm to read.
      impls.push({ ...syncImpl('norm-only', normOnlyCall(nk, c, d)), noCheck: true });
    }
    if (nk && nk.reference && wanted('reference') && !c.outOfCache) {
      impls.push({
        ...syncImpl('reference', caseCall(nk.reference, c, d, { withOut: !latency })),
        slow: true,
      });
    }
    if (wanted('plain') && typeof plain.ops[c.op] === 'function') {
      const call = caseCall(plain.ops, c, d, { withOut: !latency });
      impls.push({ ...syncImpl('plain', call), slow: true });
    }
    if (ortMod && ortPeer.modelFor(c)) impls.push({ lazy: 'onnxruntime' });
    for (const y of yardsticks()) impls.push({ ...y, again: true });

    for (let impl of impls) {
      const name = impl.impl || impl.lazy;
      const key = `${c.id}/${name}`;
      if (SINGLE_THREADED.includes(name) && jsCache.has(key)) {
        record(name, t, jsCache.get(key), { reused: true });
        continue;
      }
      try {
        if (impl.lazy === 'onnxruntime')
          impl = await ortImpl(ortMod, c, d, t, { withOut: !latency });
        await sleep(20); // let the previous implementation's spinning threads go idle
        const contention = cpuMonitor();
        const stats = await measure(impl.fn, {
          ...(impl.slow ? slowSampling : sampling),
          latency,
          async: Boolean(impl.async),
        });
        const extra = {};
        const otherLoad = contention();
        if (otherLoad !== null) extra.otherLoad = otherLoad;
        if (impl.copyKind) extra.copyKind = impl.copyKind;
        const out = impl.noCheck || YARDSTICKS.includes(name) ? null : impl.output();
        if (out && expected) extra.maxAbsErr = resultError(out, expected);
        if (impl.again) mergeAgain(results, c.id, name, t, stats, extra);
        else record(name, t, stats, extra);
        if (SINGLE_THREADED.includes(name)) jsCache.set(key, { ...stats, ...extra });
        d.out.fill(0);
      } catch (err) {
        notes.push(`${c.name} ${name} ${t} thr failed: ${err.message.split('\n')[0]}`);
        log(`  ${c.name} | ${name} | ${t} thr: FAILED: ${err.message.split('\n')[0]}`);
      } finally {
        if (impl.release) await impl.release();
      }
    }
  }
}

// ---- main ---------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const allCores =
    typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const threads = [...new Set(opts.threads || [1, allCores])].sort((a, b) => a - b);
  const sampling = opts.quick
    ? { budgetS: 0.08, minReps: 3, maxReps: 5, warmupS: 0.02, minWarmup: 1, sampleS: 0.002 }
    : { budgetS: 1, minReps: 5, maxReps: 50, warmupS: 0.1, minWarmup: 2, sampleS: 0.01 };
  // The slow single-threaded JS implementations: the minimum of 3 samples, one warm-up call.
  const slowSampling = { ...sampling, minReps: 3, minWarmup: 1 };
  const wanted = (impl) => !opts.impl || opts.impl.includes(impl);
  const notes = [];

  // Out-of-cache cases: in the default run (issue 7 puts them in `npm run bench`), out of the
  // quick one unless --large; left out with a note where memory is short.
  let large = opts.large !== null ? opts.large : !opts.quick;
  if (large && os.freemem() < OUT_OF_CACHE_FREE_BYTES) {
    large = false;
    notes.push(
      `out-of-cache cases skipped: ${(os.freemem() / 2 ** 30).toFixed(1)} GiB free, ` +
        `${OUT_OF_CACHE_FREE_BYTES / 2 ** 30} GiB needed`,
    );
  }
  const matches = (c) =>
    !opts.filter ||
    opts.filter.some((f) =>
      `${c.id} ${c.name} ${c.layout || ''} ${c.outOfCache ? 'large' : ''}`
        .toLowerCase()
        .includes(f),
    );
  const cases = CASES.filter((c) => matches(c) && (large || !c.outOfCache));
  if (!cases.length) fail(`no case matches --filter ${(opts.filter || []).join(',')}`);

  // The tier: NORMKIT_SIMD must be set before the addon is loaded (it decides once).
  const where = opts.lib || REPO_ROOT;
  const picked = selectTier(where, opts.tier);
  if (picked.error && opts.tier) fail(picked.error, { usage: false });
  if (picked.env !== undefined) process.env.NORMKIT_SIMD = picked.env;

  // normkit
  const loaded = loadNormkit(opts.lib);
  const nk = loaded.nk || null;
  if (!nk) {
    notes.push(
      `normkit could not be loaded from ${loaded.where}: ${loaded.error} (build it with npm install)`,
    );
  }
  const nativeOk = Boolean(nk && nk.native && nk.backend === 'native');
  if (nk && !nativeOk)
    notes.push(`normkit native addon unavailable (backend '${nk.backend}'): no native rows`);
  const native = nativeOk ? nk.native : null;
  if (!native) notes.push('copy baseline: JS loop (no native addon)');
  const machine = machineInfo();
  const nkInfo = normkitInfo(nk, nativeOk);
  const tier = TIERS.includes(nkInfo.simdPath)
    ? nkInfo.simdPath
    : picked.tier || opts.tier || 'baseline';
  if (opts.tier && nativeOk && nkInfo.simdPath !== opts.tier) {
    const why = `normkit runs ${nkInfo.simdPath} with NORMKIT_SIMD=${process.env.NORMKIT_SIMD}`;
    fail(`${why}, not ${opts.tier}`, { usage: false });
  }
  if (nk && typeof nk.setNumThreads !== 'function') {
    notes.push('normkit has no setNumThreads: thread counts only apply to peers');
  }
  const setThreads = (t) => {
    if (nk && typeof nk.setNumThreads === 'function') nk.setNumThreads(t);
  };

  // The memory limit: the streaming-store copy, built on demand.
  let stream = null;
  const sc = loadStreamCopy();
  if (sc.error)
    notes.push(`streaming-store copy unavailable (${sc.error}): the limit is the ordinary copy`);
  else if (!sc.mod.streamCopyTiers().includes(tier))
    notes.push(`streaming-store copy cannot run ${tier}`);
  else stream = sc.mod;

  const tierInfo = {
    tier,
    settings: [
      `normkit ${process.env.NORMKIT_SIMD ? `NORMKIT_SIMD=${process.env.NORMKIT_SIMD}` : 'default'}`,
      `oneDNN DNNL_MAX_CPU_ISA=${onednn.ISA[tier]}`,
      `torch ATEN_CPU_CAPABILITY=${ATEN[tier]}`,
      `limit ${stream ? `streaming stores, ${tier}` : 'ordinary copy'}`,
      'onnxruntime unlimited (no switch)',
    ],
  };

  // peers
  const peers = {};
  const depsError = ensureBenchDeps(log);
  if (depsError) notes.push(`bench dependencies: ${depsError}`);
  let ortMod = null;
  if (wanted('onnxruntime')) {
    const r = ortPeer.load();
    if (r.error) {
      notes.push(`onnxruntime-node unavailable: ${r.error}`);
      peers.onnxruntime = { available: false, error: r.error };
    } else {
      ortMod = r;
      peers.onnxruntime = { available: true, version: r.version, models: ortPeer.ONNX_DIR };
      if (!fs.existsSync(ortPeer.ONNX_DIR))
        notes.push(`onnx models not found in ${ortPeer.ONNX_DIR}`);
    }
  }
  let dnnl = null;
  if (wanted('onednn') && cases.some(onednn.covers)) {
    const built = onednn.prepare();
    const r = built.error ? built : onednn.probe(built.file, tier);
    if (r.error) {
      notes.push(`oneDNN skipped: ${r.error}`);
      peers.onednn = { available: false, error: r.error };
    } else {
      dnnl = built.file;
      peers.onednn = {
        available: true,
        version: `${r.version} (${r.isa})`,
        isaLimit: onednn.ISA[tier],
      };
    }
  }
  let torch = null;
  if (opts.torch && wanted('torch')) {
    torch = findPython();
    if (torch.error) {
      notes.push(`torch unavailable: ${torch.error}`);
      peers.torch = { available: false, error: torch.error };
      torch = null;
    } else {
      peers.torch = {
        available: true,
        version: torch.version,
        python: torch.python,
        capability: ATEN[tier],
      };
    }
  }

  const headerNotes = [...notes];
  notes.length = 0;
  printHeader(machine, nkInfo, tierInfo, peers, threads, opts, sampling, headerNotes);

  const started = Date.now();
  const ctx = { nk, native, nativeOk, ortMod, threads, sampling, slowSampling, wanted, notes };
  Object.assign(ctx, { setThreads, stream, tier, results: [], jsCache: new Map() });
  for (const [ci, c] of cases.entries()) {
    log(`[${ci + 1}/${cases.length}] ${c.name}`);
    await benchCase(c, ctx);
  }
  const { results } = ctx;
  if (nk) setThreads(allCores);
  const peerRow = (r, impl) => {
    const c = cases.find((x) => x.id === r.case);
    return { ...r, impl, shape: c.shape, tier, bytes: c.streams * numel(c.shape) * 4 };
  };

  if (dnnl) {
    log(`oneDNN: timing in a separate process (DNNL_MAX_CPU_ISA=${onednn.ISA[tier]})`);
    const sub = onednn.run(dnnl, cases, threads, sampling, tier, log);
    if (sub.error) {
      notes.push(`oneDNN run failed: ${sub.error}`);
      peers.onednn = { available: false, error: sub.error };
    } else {
      Object.assign(peers.onednn, { isa: sub.isa });
      for (const r of sub.results) results.push(peerRow(r, 'onednn'));
    }
  }
  if (torch) {
    log(`torch: timing in a separate python process (ATEN_CPU_CAPABILITY=${ATEN[tier]})`);
    const sub = runTorch(torch.python, cases, threads, sampling, ATEN[tier]);
    if (sub.error) {
      notes.push(`torch run failed: ${sub.error}`);
    } else {
      peers.torch.capabilityUsed = sub.capability;
      for (const r of sub.results) results.push(peerRow(r, 'torch'));
    }
  }

  const targets = analyze(cases, results, allCores);
  const elapsedS = (Date.now() - started) / 1000;
  const subject = nativeOk ? 'normkit' : 'reference';
  console.log('');
  printTable(cases, results, threads, tier, subject);
  console.log('');
  const legend =
    `median: time per call of ${subject} (µs per call on the latency cases; !: other processes ` +
    'used the CPU meanwhile). GB/s: (input + output bytes) / median. xlim: GB/s / GB/s of a ' +
    'streaming-store copy of the same bytes (the memory limit), same run, threads and tier. ' +
    `${PEERS.map((p) => PEER_HEADER[p]).join(', ')}: that peer's time / ${subject}'s ` +
    `(above 1: ${subject} is faster; -: the peer has no such case). oneDNN 2.6 has LayerNorm ` +
    'and BatchNorm only; the onnx models cover LayerNorm and BatchNorm eval channels-first.';
  console.log(wrap(legend, 96));
  for (const c of cases.filter((x) => x.pair)) {
    const r = results.find(
      (x) => x.case === c.id && x.impl === 'normkit' && x.threads === allCores,
    );
    if (r && Number.isFinite(r.pairRatio)) {
      const text =
        `${c.name}, ${allCores} threads: ${fmtNum(r.pairRatio)}x faster than the unfused pair ` +
        `(JS add + normkit), ${fmtNum(r.nativePairRatio)}x an estimated native pair`;
      console.log(wrap(text, 96));
    }
  }
  const used = [];
  if (peers.onednn && peers.onednn.isa) used.push(`oneDNN ran ${peers.onednn.isa}`);
  if (peers.torch && peers.torch.capabilityUsed)
    used.push(`PyTorch ran ${peers.torch.capabilityUsed}`);
  if (used.length) console.log(`${used.join('; ')}.`);
  const busy = results.filter(isBusy);
  if (busy.length) {
    notes.push(
      `${busy.length} of ${results.length} rows ran while other processes used the CPU: ` +
        'multi-threaded rows stall when a core is taken; rerun on an idle machine',
    );
  }
  for (const n of notes) console.log(wrap(`note: ${n}`, 96));

  const report = {
    date: new Date().toISOString(),
    command: `node bench/run.js ${process.argv.slice(2).join(' ')}`.trim(),
    quick: opts.quick,
    elapsedS,
    machine: { ...machine, ...nkInfo },
    tier,
    tierSettings: tierInfo.settings,
    threads,
    allCores,
    sampling,
    peers,
    notes: [...headerNotes, ...notes],
    cases,
    results,
    targets,
  };
  await writeOutputs(report, opts.json);
  console.log(`bench done in ${elapsedS.toFixed(1)} s`);
}

async function writeOutputs(report, jsonPath) {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  let svg = null;
  try {
    svg = await require('./chart').renderChart(report);
  } catch (err) {
    console.log(`note: no chart: ${err.message.split('\n')[0]}`);
  }
  const written = [];
  const put = (file, text) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
    written.push(path.relative(process.cwd(), file) || file);
  };
  const base = jsonPath ? jsonPath.replace(/\.json$/i, '') : path.join(RESULTS_DIR, 'latest');
  put(`${base}.json`, json);
  if (svg) put(`${base}.svg`, svg);
  if (!jsonPath) put(path.join(RESULTS_DIR, `run-${report.date.replace(/[:.]/g, '-')}.json`), json);
  console.log(wrap(`wrote ${written.join(', ')}`, 96));
  console.log('(the targets and their verdicts are under "targets" in the JSON)');
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
