#!/usr/bin/env node
'use strict';
// How the time of a large call depends on where its buffers lie: the same LayerNorm and fused
// add + LayerNorm [8192, 768] (weight and bias given, `out` and `sumOut` preallocated) with the
// input, residual, output and sum placed at chosen byte offsets from a 64-byte cache line, all
// in one process, placements interleaved round by round. See docs/performance.md, "Where the
// buffers lie".
//
//   node bench/placement.js [--threads N] [--rounds N] [--lib DIR]
//
// The four arrays are subarrays of one ArrayBuffer, each 24 MiB plus a multiple of 4 KiB apart,
// so their offsets from each other modulo 4096 are those of the placement. V8 puts a large
// ArrayBuffer's data 16 bytes past a page start (glibc's mmap chunk header): a placement's bytes
// are counted from a line start by adding those 16.

const path = require('path');
const { summarize } = require('./measure');

function parseArgs(argv) {
  const o = { threads: 2, rounds: 5, lib: path.resolve(__dirname, '..') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--threads') o.threads = Number(argv[++i]);
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--lib') o.lib = path.resolve(argv[++i]);
    else if (a === '--help' || a === '-h') {
      console.log('Usage: node bench/placement.js [--threads N] [--rounds N] [--lib DIR]');
      process.exit(0);
    } else throw new Error(`placement: unknown argument ${a}`);
  }
  if (!(o.threads >= 1) || !(o.rounds >= 1)) throw new Error('placement: bad --threads/--rounds');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const nk = require(path.join(opts.lib, path.sep)); // the directory, never DIR.json
nk.setNumThreads(opts.threads);

const rows = 8192;
const cols = 768;
const n = rows * cols;
const stride = n + 2048; // floats: 24 MiB + 8 KiB, a multiple of 4 KiB
// Data starts 16 bytes past a line (see above): float offset k lies 16 + 4k bytes past a line.
const BASE_BYTES = 16;
const at = (bytes) => ((bytes - BASE_BYTES + 64) % 64) / 4;

// [label, byte offsets from a line of input, residual, output, sum]
const PLACEMENTS = [
  ['all on a line', [0, 0, 0, 0]],
  ['all 16 B past a line (fresh large arrays)', [16, 16, 16, 16]],
  ['inputs 16 B past, outputs on a line', [16, 16, 0, 0]],
  ['16 B apart in turn (arrays allocated one after another)', [16, 32, 48, 0]],
];

const block = new Float32Array(4 * stride + 64);
let seed = 12345;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const xs = Float32Array.from({ length: n }, () => -2 + 5 * rnd());
const rs = Float32Array.from({ length: n }, () => -1 + 2 * rnd());
const weight = Float32Array.from({ length: cols }, () => 0.5 + rnd());
const bias = Float32Array.from({ length: cols }, () => rnd() - 0.5);

function arrays(bytes) {
  return bytes.map((b, k) => block.subarray(k * stride + at(b), k * stride + at(b) + n));
}

const OPS = {
  'LayerNorm, weight and bias': ([x, , out]) => {
    const input = { data: x, shape: [rows, cols] };
    return () => nk.layerNorm(input, [cols], { weight, bias, out });
  },
  'add + LayerNorm, weight and bias': ([x, r, out, sum]) => {
    const input = { data: x, shape: [rows, cols] };
    const residual = { data: r, shape: [rows, cols] };
    return () => nk.addLayerNorm(input, residual, [cols], { weight, bias, out, sumOut: sum });
  },
  'add + LayerNorm, no weight or bias': ([x, r, out, sum]) => {
    const input = { data: x, shape: [rows, cols] };
    const residual = { data: r, shape: [rows, cols] };
    return () => nk.addLayerNorm(input, residual, [cols], { out, sumOut: sum });
  },
};

/** Median time of one call in microseconds: 7 samples of 5 calls after 5 warm-up calls. */
function time(fn) {
  for (let i = 0; i < 5; i++) fn();
  const samples = [];
  for (let s = 0; s < 7; s++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 5; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  return summarize(samples, 5).median;
}

const median = (values) => summarize(values, 1).median;

const results = {};
for (let round = 0; round < opts.rounds; round++) {
  for (const [label, bytes] of PLACEMENTS) {
    const [x, r, out, sum] = arrays(bytes);
    x.set(xs);
    r.set(rs);
    for (const [op, make] of Object.entries(OPS)) {
      ((results[op] ||= {})[label] ||= []).push(time(make([x, r, out, sum])));
    }
  }
}

console.log(
  `[${rows}, ${cols}], ${opts.threads} thread(s), SIMD ${nk.native ? nk.native.simdPath() : '?'}, ` +
    `median of ${opts.rounds} rounds (each the median of 7 samples of 5 calls); offsets assume ` +
    `the ArrayBuffer's data starts ${BASE_BYTES} bytes past a line, as V8 on glibc places it`,
);
for (const [op, byPlacement] of Object.entries(results)) {
  const base = median(byPlacement[PLACEMENTS[0][0]]);
  console.log(`\n${op}`);
  for (const [label] of PLACEMENTS) {
    const m = median(byPlacement[label]);
    console.log(`  ${label.padEnd(58)} ${m.toFixed(0).padStart(6)} us  ${(m / base).toFixed(2)}x`);
  }
}
