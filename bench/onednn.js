'use strict';

// oneDNN peer: bench/onednn/peer.cc, built on demand against the system's oneDNN (Debian:
// apt-get install libdnnl-dev, oneDNN 2.6) into the ignored bench/results/build/, and run in its
// own process once per thread count with OMP_NUM_THREADS and DNNL_MAX_CPU_ISA (the tier being
// measured). It covers the ops oneDNN 2.6 has: LayerNorm and BatchNorm (training and inference,
// both layouts); RMSNorm, GroupNorm and InstanceNorm have no primitive there, so no row.

const path = require('path');
const { spawnSync } = require('child_process');
const { build } = require('./build');

const SOURCE = path.join(__dirname, 'onednn', 'peer.cc');
const OPS = new Set(['layerNorm', 'batchNorm']);

// DNNL_MAX_CPU_ISA for each tier: oneDNN's lowest ISA is SSE4.1, the nearest to the baseline.
const ISA = { avx512: 'AVX512_CORE', avx2: 'AVX2', baseline: 'SSE41' };

// { file } or { error } (a missing libdnnl-dev says so).
function prepare() {
  const r = build('onednn-peer', SOURCE, {
    before: ['-std=c++17', '-O2', '-fopenmp'],
    after: ['-ldnnl'],
  });
  if (r.error && /dnnl\.hpp|-ldnnl|cannot find/.test(r.error)) {
    return { error: 'oneDNN not installed (Debian: apt-get install libdnnl-dev)' };
  }
  return r;
}

const covers = (c) => OPS.has(c.op);

const isaEnv = (tier) => (ISA[tier] ? { DNNL_MAX_CPU_ISA: ISA[tier] } : {});

// The version and the ISA oneDNN picks under the tier's limit: { version, isa } or { error }.
function probe(file, tier) {
  const r = spawnSync(file, ['1', '0', '1', '1', '0', '1', '0'], {
    input: '',
    env: { ...process.env, ...isaEnv(tier) },
    encoding: 'utf8',
  });
  try {
    return JSON.parse(r.stdout.trim().split('\n')[0]);
  } catch {
    return {
      error: `peer exited with status ${r.status}: ${(r.stderr || '').trim().split('\n')[0]}`,
    };
  }
}

// Times `cases` at each thread count; returns { version, isa, results } or { error }. Each result:
// { case, threads, median, q1, q3, min, max, reps, calls, impl } (seconds per call).
function run(file, cases, threads, sampling, tier, log) {
  const lines = cases
    .filter(covers)
    .map((c) => [c.id, c.op, c.training ? 1 : 0, c.layout || '-', c.kind, ...c.shape].join(' '));
  if (!lines.length) return { results: [] };
  const out = { results: [], isa: null, version: null };
  for (const t of threads) {
    const args = [t, sampling.budgetS, sampling.minReps, sampling.maxReps, sampling.warmupS];
    args.push(sampling.minWarmup, sampling.sampleS);
    const env = { ...process.env, OMP_NUM_THREADS: String(t), ...isaEnv(tier) };
    const r = spawnSync(file, args.map(String), {
      input: `${lines.join('\n')}\n`,
      env,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    if (r.error) return { error: r.error.message };
    const rows = r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    if (r.status !== 0 || !rows.length) return { error: `peer exited with status ${r.status}` };
    const [head, ...rest] = rows;
    out.version = head.version;
    out.isa = head.isa;
    for (const row of rest) {
      if (row.error) {
        log(`  oneDNN ${row.id} ${t} thr: ${row.error}`);
        continue;
      }
      const { id, ...stats } = row;
      out.results.push({ case: id, threads: t, ...stats });
      log(`  oneDNN ${id} ${t} thr: ${(stats.median * 1e3).toFixed(3)} ms (${stats.impl})`);
    }
  }
  return out;
}

module.exports = { prepare, probe, run, covers, ISA };
