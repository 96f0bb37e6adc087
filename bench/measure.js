'use strict';

// Sampling: warm up, then take samples until a time budget is spent (at least minReps, at
// most maxReps). A sample is one call for the large cases, or a loop of `calls` calls for the
// latency cases (the loop count is calibrated so a sample lasts about `sampleS` seconds).

const now = () => process.hrtime.bigint();
const seconds = (t0, t1) => Number(t1 - t0) / 1e9;

function summarize(samples, calls) {
  const perCall = samples.map((s) => s / calls).sort((a, b) => a - b);
  const mid = perCall.length >> 1;
  const median = perCall.length % 2 ? perCall[mid] : (perCall[mid - 1] + perCall[mid]) / 2;
  return {
    median,
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
    if (latency && warmTime < warmupS / 4) chunk = Math.min(chunk * 2, 1 << 16);
  }
  if (latency) {
    const perCall = warmTime / warmCalls;
    calls = Math.max(1, Math.round(sampleS / Math.max(perCall, 1e-9)));
  }

  const samples = [];
  let spent = 0;
  while (samples.length < minReps || (spent < budgetS && samples.length < maxReps)) {
    const t = await runOnce(calls);
    samples.push(t);
    spent += t;
  }
  return summarize(samples, calls);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { measure, sleep };
