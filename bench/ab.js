#!/usr/bin/env node
// A/B of two builds of normkit: every in-cache case of the bench (bench/cases.js, from the op
// descriptors), at 1 thread and at 2. Each sample is a child process per build, the builds
// interleaved (the order alternating each round) so that a shared, noisy machine affects both
// alike; per case it prints each build's median over the rounds of its per-round median time per
// call, the ratio B / A of those, and each build's fastest round. The calls are the bench's own
// (this checkout's cases): into preallocated outputs, the latency cases allocating.
//
//   node bench/ab.js <package dir A> <package dir B> [rounds] [id or name filter, comma-separated]
//   e.g. node bench/ab.js /tmp/normkit-main . 7 ln-   (a package dir has dist/ and build/Release/)
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');
const { CASES: BENCH_CASES } = require('./cases');

// Calls per sample: about 1 ms of work each.
const callsFor = (c) =>
  c.kind === 'latency' ? 20000 : Math.max(3, Math.round(2e6 / c.shape.reduce((a, b) => a * b, 1)));
const CASES = BENCH_CASES.filter((c) => !c.outOfCache).flatMap((c) =>
  [1, 2].map((threads) => ({ id: c.id, name: c.name, threads, calls: callsFor(c), samples: 9 })),
);

// The child: builds the case's arguments as the bench does, times `samples` batches of `calls`
// calls after a warm-up (0.2 s at least); prints the median microseconds per call.
const CHILD = `
const [dir, casesFile, json] = process.argv.slice(1);
const c = JSON.parse(json);
const bc = require(casesFile).CASES.find((k) => k.id === c.id);
// The package directory itself: a bare path would load DIR.json first where such a file exists.
const nk = require(dir + '/');
nk.setNumThreads(c.threads);
const n = bc.shape.reduce((a, b) => a * b, 1);
const fill = (len, f) => Float32Array.from({ length: len }, (_, i) => f(i));
const x = fill(n, (i) => Math.sin(i * 0.1) * 2 + 1);
const d = {
  input: { data: x, shape: bc.shape },
  out: new Float32Array(n),
  weight: fill(bc.params, () => 1.5),
  bias: fill(bc.params, () => 0.25),
  runningMean: new Float32Array(bc.params),
  runningVar: fill(bc.params, () => 1),
};
if (bc.inputs > 1) {
  d.residual = { data: fill(n, (i) => Math.cos(i * 0.3)), shape: bc.shape };
  d.sumOut = new Float32Array(n);
}
const args = bc.args(d, { withOut: bc.kind !== 'latency', fresh: (a) => a.slice() });
const f = nk[bc.op];
const call = () => f(...args);
// Warm-up: at least two samples' calls and 0.2 s, so that small calls are timed in optimized
// code (LayerNorm [64, 128] still ran at 2.5 times its speed after 500 calls).
const warmUntil = process.hrtime.bigint() + 200000000n;
for (let i = 0; i < Math.max(3, 2 * c.calls) || process.hrtime.bigint() < warmUntil; i++) call();
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
    console.error(
      'usage: node bench/ab.js <package dir A> <package dir B> [rounds] [id or name filter, comma-separated]',
    );
    process.exit(2);
  }
  const dirs = [path.resolve(a), path.resolve(b)];
  const rounds = Number(roundsArg || 7);
  console.log(`A = ${dirs[0]}\nB = ${dirs[1]}\n${rounds} rounds, builds interleaved`);
  console.log(
    `${'case'.padEnd(40)} ${'thr'.padStart(3)} ${'A us/call'.padStart(10)} ${'B us/call'.padStart(10)} ${'B / A'.padStart(6)} ${'A min'.padStart(10)} ${'B min'.padStart(10)}`,
  );
  const filters = filter ? filter.split(',').filter(Boolean) : [];
  for (const c of CASES.filter(
    (k) => !filters.length || filters.some((f) => k.name.includes(f) || k.id.includes(f)),
  )) {
    const us = [[], []];
    for (let r = 0; r < rounds; r++) {
      for (const k of r % 2 ? [1, 0] : [0, 1]) {
        const env = { ...process.env };
        delete env.NORMKIT_NUM_THREADS;
        const res = spawnSync(
          process.execPath,
          ['-e', CHILD, dirs[k], require.resolve('./cases'), JSON.stringify(c)],
          {
            encoding: 'utf8',
            env,
          },
        );
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
