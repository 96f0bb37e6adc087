#!/usr/bin/env node
// A/B of two builds of normkit on LayerNorm and BatchNorm: every in-cache shape of the bench, at 1
// thread and at 2. Each sample is a child process per build,
// the builds interleaved (the order alternating each round) so that a shared, noisy machine
// affects both alike; per case it prints each build's median over the rounds of its per-round
// median time per call, the ratio B / A of those, and each build's fastest round.
//
//   node bench/ab.js <package dir A> <package dir B> [rounds] [name filter]
//   e.g. node bench/ab.js /tmp/normkit-main . 7   (a package dir has dist/ and build/Release/)
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

// Every LayerNorm and BatchNorm shape of the bench's in-cache cases (bench/cases.js), at 1 thread
// and at 2; `alloc`: the plain allocating call (the latency cases), else into a preallocated out.
const BIG = [32, 64, 56, 56];
const SMALL = [8, 256, 14, 14];
const BASE_CASES = [
  { name: 'layerNorm [1, 768] alloc', op: 'ln', shape: [1, 768], alloc: true, calls: 20000 },
  { name: 'layerNorm [64, 128]', op: 'ln', shape: [64, 128], calls: 2000 },
  { name: 'layerNorm [512, 1024]', op: 'ln', shape: [512, 1024], calls: 100 },
  { name: 'layerNorm [8192, 768]', op: 'ln', shape: [8192, 768], calls: 4 },
  { name: 'layerNorm [2048, 4096]', op: 'ln', shape: [2048, 4096], calls: 3 },
  { name: 'batchNorm eval [1, 64, 1, 1] alloc', op: 'bn', shape: [1, 64, 1, 1], alloc: true },
  ...[true, false].flatMap((training) =>
    ['channels_first', 'channels_last'].flatMap((layout) =>
      [
        { name: `batchNorm ${training ? 'train' : 'eval'} ${layout} [32, 64, 56, 56]`, shape: BIG },
        {
          name: `batchNorm ${training ? 'train' : 'eval'} ${layout} [8, 256, 14, 14]`,
          shape: SMALL,
        },
      ].map((c) => ({ ...c, op: 'bn', training, layout, calls: c.shape === BIG ? 3 : 30 })),
    ),
  ),
  { name: 'batchNorm1d train [65536, 64]', op: 'bn', shape: [65536, 64], training: true, calls: 3 },
];
const CASES = BASE_CASES.flatMap((c) =>
  [1, 2].map((threads) => ({ calls: 20000, samples: 9, ...c, threads })),
);

// The child: times `samples` batches of `calls` calls into a preallocated out, after a warm-up;
// prints the median microseconds per call.
const CHILD = `
const [dir, json] = process.argv.slice(1);
const c = JSON.parse(json);
const nk = require(dir);
nk.setNumThreads(c.threads);
const n = c.shape.reduce((a, b) => a * b, 1);
const x = { data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.1) * 2 + 1), shape: c.shape };
const out = new Float32Array(n);
const cols = c.shape[c.shape.length - 1];
const C = c.shape[1];
const rm = new Float32Array(C), rv = new Float32Array(C).fill(1);
const w = new Float32Array(C).fill(1.5), b = new Float32Array(C).fill(0.25);
const bn = { runningMean: rm, runningVar: rv, weight: w, bias: b, training: !!c.training, layout: c.layout || 'channels_first' };
const bnOut = { ...bn, out };
const lnOut = { out };
const call =
  c.op === 'ln'
    ? c.alloc ? () => nk.layerNorm(x, cols) : () => nk.layerNorm(x, cols, lnOut)
    : c.alloc ? () => nk.batchNorm(x, bn) : () => nk.batchNorm(x, bnOut);
for (let i = 0; i < Math.max(3, 2 * c.calls); i++) call();
const times = [];
for (let s = 0; s < c.samples; s++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < c.calls; i++) call();
  times.push(Number(process.hrtime.bigint() - t0) / 1e3 / c.calls);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ us: times[times.length >> 1] }));
`;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function main() {
  const [a, b, roundsArg, filter] = process.argv.slice(2);
  if (!a || !b) {
    console.error('usage: node bench/ab.js <package dir A> <package dir B> [rounds] [name filter]');
    process.exit(2);
  }
  const dirs = [path.resolve(a), path.resolve(b)];
  const rounds = Number(roundsArg || 7);
  console.log(`A = ${dirs[0]}\nB = ${dirs[1]}\n${rounds} rounds, builds interleaved`);
  console.log(
    `${'case'.padEnd(40)} ${'thr'.padStart(3)} ${'A us/call'.padStart(10)} ${'B us/call'.padStart(10)} ${'B / A'.padStart(6)} ${'A min'.padStart(10)} ${'B min'.padStart(10)}`,
  );
  for (const c of CASES.filter((k) => !filter || k.name.includes(filter))) {
    const us = [[], []];
    for (let r = 0; r < rounds; r++) {
      for (const k of r % 2 ? [1, 0] : [0, 1]) {
        const env = { ...process.env };
        delete env.NORMKIT_NUM_THREADS;
        const res = spawnSync(process.execPath, ['-e', CHILD, dirs[k], JSON.stringify(c)], {
          encoding: 'utf8',
          env,
        });
        if (res.status !== 0) throw new Error(`${c.name} on ${dirs[k]}: ${res.stderr}`);
        us[k].push(JSON.parse(res.stdout.trim().split('\n').pop()).us);
      }
    }
    const [ma, mb] = us.map(median);
    const [na, nb] = us.map((u) => Math.min(...u));
    console.log(
      `${c.name.padEnd(40)} ${String(c.threads).padStart(3)} ${ma.toFixed(2).padStart(10)} ${mb.toFixed(2).padStart(10)} ${(mb / ma).toFixed(3).padStart(6)} ${na.toFixed(2).padStart(10)} ${nb.toFixed(2).padStart(10)}`,
    );
  }
}

main();
