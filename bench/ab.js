#!/usr/bin/env node
// A/B of two builds of normkit on the per-call cases that threading changes: small calls (which
// run inline) and large ones at a fixed thread count. Each sample is a child process per build,
// the builds interleaved (the order alternating each round) so that a shared, noisy machine
// affects both alike; per case it prints each build's median over the rounds of its per-round
// median time per call, the ratio B / A of those, and each build's fastest round.
//
//   node bench/ab.js <package dir A> <package dir B> [rounds]
//   e.g. node bench/ab.js /tmp/normkit-main . 7   (a package dir has dist/ and build/Release/)
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const CASES = [
  { name: 'layerNorm [1, 768]', op: 'ln', shape: [1, 768], threads: 2, calls: 20000, samples: 15 },
  { name: 'layerNorm [64, 128]', op: 'ln', shape: [64, 128], threads: 2, calls: 2000, samples: 15 },
  { name: 'layerNorm [8192, 768]', op: 'ln', shape: [8192, 768], threads: 2, calls: 4, samples: 9 },
  {
    name: 'layerNorm [2048, 4096]',
    op: 'ln',
    shape: [2048, 4096],
    threads: 2,
    calls: 3,
    samples: 9,
  },
  {
    name: 'batchNorm train NCHW [32, 64, 56, 56]',
    op: 'bn',
    shape: [32, 64, 56, 56],
    threads: 2,
    calls: 3,
    samples: 9,
  },
];

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
const call = c.op === 'ln' ? () => nk.layerNorm(x, cols, { out }) : () => nk.batchNorm(x, { training: true, out });
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
  const [a, b, roundsArg] = process.argv.slice(2);
  if (!a || !b) {
    console.error('usage: node bench/ab.js <package dir A> <package dir B> [rounds]');
    process.exit(2);
  }
  const dirs = [path.resolve(a), path.resolve(b)];
  const rounds = Number(roundsArg || 7);
  console.log(`A = ${dirs[0]}\nB = ${dirs[1]}\n${rounds} rounds, builds interleaved`);
  console.log(
    `${'case'.padEnd(40)} ${'thr'.padStart(3)} ${'A us/call'.padStart(10)} ${'B us/call'.padStart(10)} ${'B / A'.padStart(6)} ${'A min'.padStart(10)} ${'B min'.padStart(10)}`,
  );
  for (const c of CASES) {
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
