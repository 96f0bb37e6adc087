'use strict';

// Sampling: warm up, then take samples until a time budget is spent (at least minReps, at
// most maxReps). A sample is one call for the large cases, or a loop of `calls` calls for the
// latency cases (the loop count is calibrated so a sample lasts about `sampleS` seconds).

const now = () => process.hrtime.bigint();
const seconds = (t0, t1) => Number(t1 - t0) / 1e9;

// Linear interpolation between the closest ranks (numpy's default, and bench/onednn/peer.cc's).
function quantile(sorted, q) {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

// Per-call times: the median, the quartiles (the spread the chart draws) and the extremes.
function summarize(samples, calls) {
  const perCall = samples.map((s) => s / calls).sort((a, b) => a - b);
  return {
    median: quantile(perCall, 0.5),
    q1: quantile(perCall, 0.25),
    q3: quantile(perCall, 0.75),
    min: perCall[0],
    max: perCall[perCall.length - 1],
    reps: perCall.length,
    calls,
  };
}

// fn(k) performs k calls (synchronously, or returns a promise when async is true).
async function measure(fn, opts) {
  const { budgetS, minReps, maxReps, warmupS, minWarmup, latency, sampleS } = opts;
  const isAsync = Boolean(opts.async);
  const runOnce = isAsync
    ? async (k) => {
        const t0 = now();
        await fn(k);
        return seconds(t0, now());
      }
    : (k) => {
        const t0 = now();
        fn(k);
        return seconds(t0, now());
      };

  // Warm-up, which also calibrates the per-sample call count for the latency cases.
  let calls = 1;
  let warmCalls = 0;
  let warmTime = 0;
  let chunk = 1;
  while (warmCalls < minWarmup || warmTime < warmupS) {
    warmTime += await runOnce(chunk);
    warmCalls += chunk;
    if (warmTime > budgetS) break; // one call longer than a row's budget: warm enough
    if (latency && warmTime < warmupS / 4) chunk = Math.min(chunk * 2, 1 << 16);
  }
  if (latency) {
    const perCall = warmTime / warmCalls;
    calls = Math.max(1, Math.round(sampleS / Math.max(perCall, 1e-9)));
  }

  // A peer that takes seconds per call (PyTorch allocating 512 MiB outputs) gets 3 samples, not
  // minReps: the spread of 3 says enough about a figure that far from the others.
  const reps = warmTime / warmCalls > budgetS ? Math.min(minReps, 3) : minReps;
  const samples = [];
  let spent = 0;
  while (samples.length < reps || (spent < budgetS && samples.length < maxReps)) {
    const t = await runOnce(calls);
    samples.push(t);
    spent += t;
  }
  return summarize(samples, calls);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { measure, sleep, summarize };
