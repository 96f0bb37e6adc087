// normkit in worker threads, each scenario in a child process (a crash there would otherwise
// take mocha down): four workers normalizing at once with sync and async calls agree with the
// reference; a worker that ran multi-threaded calls and exits, and one terminated in the middle
// of a large async or sync call, leave the process running (exit code 0) and normkit usable,
// whether or not the main thread loaded normkit; and a small pooled result transferred out of a
// worker breaks neither the results carved beside it nor later small calls there.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { expect } from 'chai';
import { REPO_ROOT } from './helpers/tensors';

const HELPERS = path.join(__dirname, 'helpers');
const J = JSON.stringify;

interface Child<T> {
  status: number | null;
  signal: string | null;
  report: T | null;
  stderr: string;
}

/**
 * Runs `main` (a script that calls `report(value)` once, when done) in a child process; with
 * `mainLoads`, the main thread requires normkit (as `nk`) and makes a call before `main` runs.
 * The child's environment is this one's, NORMKIT_BACKEND included.
 */
function runChild<T>(main: string, mainLoads: boolean, timeoutMs = 90000): Child<T> {
  const script = [
    "const { Worker } = require('worker_threads');",
    'const report = (value) => { process.stdout.write("\\n@@" + JSON.stringify(value) + "\\n"); };',
    mainLoads
      ? `const nk = require(${J(REPO_ROOT)}); nk.layerNorm({ data: new Float32Array(1 << 16).fill(1), shape: [64, 1024] }, 1024);`
      : '',
    /** Runs worker code `code` with `data`; resolves with its messages and exit code. */
    `function runWorker(code, data, onMessage) {
      return new Promise((resolve) => {
        const w = new Worker(code, { eval: true, workerData: data });
        const messages = [];
        const errors = [];
        w.on('message', (m) => { messages.push(m); if (onMessage) onMessage(m, w); });
        w.on('error', (e) => errors.push(String(e && e.stack || e)));
        w.on('exit', (code) => resolve({ code, messages, errors }));
      });
    }`,
    main,
  ].join('\n');
  const env = { ...process.env };
  delete env.NORMKIT_NUM_THREADS;
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 16 << 20,
  });
  if (r.error) throw r.error;
  const line = r.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('@@'));
  return {
    status: r.status,
    signal: r.signal,
    report: line ? (JSON.parse(line.slice(2)) as T) : null,
    stderr: r.stderr,
  };
}

/** The child exited normally (code 0, no signal) and reported. */
function expectRanOn<T>(c: Child<T>): T {
  expect(c.signal, `child killed by ${c.signal}: ${c.stderr.slice(-1500)}`).to.equal(null);
  expect(c.status, `child exited with ${c.status}: ${c.stderr.slice(-1500)}`).to.equal(0);
  expect(c.report, `child reported nothing: ${c.stderr.slice(-1500)}`).to.not.equal(null);
  return c.report!;
}

/** Worker code: `nk` loaded, `check(y, x)` comparing a LayerNorm result to the reference's. */
const WORKER_HEAD = `
const { parentPort, workerData } = require('worker_threads');
const nk = require(${J(REPO_ROOT)});
const big = (rows, cols, seed) => {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37 + seed) * 3 + seed;
  return { data, shape: [rows, cols] };
};
function check(y, x, cols) {
  const want = nk.reference.layerNorm(x, cols).data;
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(y.data[i] - want[i]) <= 1e-5 + 1e-5 * Math.abs(want[i]))) {
      return 'differs at [' + i + ']: ' + y.data[i] + ' vs ' + want[i];
    }
  }
  return y.data.length === want.length ? null : 'length ' + y.data.length;
}
`;

describe('worker threads (child processes)', function () {
  this.timeout(120000);

  it('four workers normalizing at once, with sync and async calls of every op, agree with the reference', () => {
    const worker = `
${WORKER_HEAD}
const { OP_LIST } = require(${J(path.join(HELPERS, 'ops.js'))});
const { opShapes, optionalArrays, boolCombos, layoutsOf, prepare, runOn, diffOutcomes, TOL } =
  require(${J(path.join(HELPERS, 'op-cases.js'))});
const { runOnAsync } = require(${J(path.join(HELPERS, 'async-calls.js'))});
(async () => {
  const problems = [];
  let calls = 0;
  let seed = 1000 * (workerData.index + 1);
  for (let round = 0; round < 2; round++) {
    for (const op of OP_LIST) {
      // The second shape has over 2 x 32768 values: the kernels split it over threads.
      for (const shape of [[3, 5, 7], [16, 8, 1024]]) {
        const s = opShapes(op, shape)[0];
        for (const layout of layoutsOf(op)) {
          const combos = boolCombos(op);
          const bools = combos[(workerData.index + round) % combos.length];
          const v = { kind: 'normal', given: new Set(optionalArrays(op)), bools, layout, out: 'views' };
          const p = prepare(op, s, v, seed++);
          const want = runOn(op, p, nk.reference);
          const outcomes = [['sync', runOn(op, p, nk)]];
          const pending = [runOnAsync(op, p, nk), runOnAsync(op, p, nk)];
          outcomes.push(['sync', runOn(op, p, nk)]);
          for (const got of await Promise.all(pending)) outcomes.push(['async', got]);
          for (const [how, got] of outcomes) {
            calls++;
            for (const b of diffOutcomes(got, want, TOL)) {
              problems.push(op.name + ' ' + s.label + ' ' + p.label + ' (' + how + '): ' + b);
            }
          }
        }
      }
    }
  }
  parentPort.postMessage({ problems: problems.slice(0, 10), calls, backend: nk.backend });
})();
`;
    const c = runChild<Array<{ code: number; messages: unknown[]; errors: string[] }>>(
      `const code = ${J(worker)};
       Promise.all([0, 1, 2, 3].map((index) => runWorker(code, { index }))).then(report);`,
      false,
    );
    const workers = expectRanOn(c);
    expect(workers).to.have.length(4);
    workers.forEach((w, i) => {
      expect(w.errors, `worker ${i}`).to.deep.equal([]);
      expect(w.code, `worker ${i} exit code`).to.equal(0);
      const m = w.messages[0] as { problems: string[]; calls: number };
      expect(m.problems, `worker ${i}`).to.deep.equal([]);
      expect(m.calls, `worker ${i} calls`).to.be.greaterThan(50);
    });
  });

  for (const mainLoads of [false, true]) {
    const who = mainLoads
      ? 'the main thread loaded normkit'
      : 'the main thread never loads normkit';

    it(`workers that ran multi-threaded sync and async calls exit; the process runs on (${who})`, () => {
      // Three workers one after the other, exiting by returning, by process.exit and by
      // throwing: each unloads its instance of the addon with the pool threads it used.
      const worker = `
${WORKER_HEAD}
nk.setNumThreads(2);
const x = big(2048, 768, workerData.index);
const problems = [check(nk.layerNorm(x, 768), x, 768)];
nk.layerNormAsync(x, 768).then((y) => {
  problems.push(check(y, x, 768));
  parentPort.postMessage(problems.filter(Boolean));
  if (workerData.how === 'exit') process.exit(0);
  if (workerData.how === 'throw') throw new Error('planned');
});
`;
      const c = runChild<{ runs: Array<{ code: number; messages: string[][] }>; after: unknown }>(
        `const code = ${J(worker)};
         const pause = (ms) => new Promise((r) => setTimeout(r, ms));
         (async () => {
           const runs = [];
           for (const [index, how] of ['return', 'exit', 'throw'].entries()) {
             const r = await runWorker(code, { index, how });
             runs.push({ code: r.code, messages: r.messages });
             await pause(100); // a crash from the unloaded threads would come here
           }
           let after = null;
           if (typeof nk !== 'undefined') {
             const y = await nk.layerNormAsync({ data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] }, 2);
             after = Array.from(nk.layerNorm({ data: new Float32Array(1 << 17).fill(2), shape: [128, 1024] }, 1024).data.subarray(0, 2)).concat(Array.from(y.data));
           }
           report({ runs, after });
         })();`,
        mainLoads,
      );
      const r = expectRanOn(c);
      expect(r.runs.map((x) => x.code)).to.deep.equal([0, 0, 1]);
      for (const run of r.runs) expect(run.messages).to.deep.equal([[]]);
      if (mainLoads) {
        const row = 0.5 / Math.sqrt(0.25 + 1e-5);
        expect((r.after as number[]).map((v) => Math.round(v * 1e4) / 1e4)).to.deep.equal(
          [0, 0, -row, row, -row, row].map((v) => Math.round(v * 1e4) / 1e4),
        );
      }
    });

    for (const mode of ['async', 'sync'] as const) {
      it(`a worker terminated in the middle of large ${mode} calls leaves the process running, and normkit usable (${who})`, () => {
        const worker = `
${WORKER_HEAD}
nk.setNumThreads(2);
const x = big(8192, 768, 1);
if (workerData.mode === 'async') {
  for (let i = 0; i < 12; i++) nk.layerNormAsync(x, 768);
  parentPort.postMessage('started');
} else {
  parentPort.postMessage('started');
  for (let i = 0; i < 200; i++) nk.layerNorm(x, 768);
}
`;
        const after = `
${WORKER_HEAD}
const x = big(512, 768, 2);
nk.layerNormAsync(x, 768).then((y) => parentPort.postMessage([check(y, x, 768), check(nk.layerNorm(x, 768), x, 768)]));
`;
        const c = runChild<{ terminated: number; exitCode: number; after: unknown; main: unknown }>(
          `const code = ${J(worker)};
           (async () => {
             let terminated = null;
             const r = await runWorker(code, { mode: ${J(mode)} }, (m, w) => {
               if (m === 'started') setTimeout(() => w.terminate().then((c) => { terminated = c; }), 30);
             });
             await new Promise((res) => setTimeout(res, 200)); // a crash from its threads would come here
             const next = await runWorker(${J(after)}, {});
             let main = null;
             if (typeof nk !== 'undefined') {
               const y = await nk.layerNormAsync({ data: new Float32Array([1, 3]), shape: [1, 2] }, 2);
               main = Array.from(y.data).map((v) => Math.round(v * 1e4) / 1e4);
             }
             report({ terminated, exitCode: r.code, after: { code: next.code, messages: next.messages, errors: next.errors }, main });
           })();`,
          mainLoads,
        );
        const r = expectRanOn(c);
        expect(r.exitCode, 'the terminated worker').to.equal(1);
        expect(r.after).to.deep.equal({ code: 0, messages: [[null, null]], errors: [] });
        if (mainLoads) expect(r.main).to.deep.equal([-1, 1]);
      });
    }
  }

  describe('a small pooled result transferred out of a worker', () => {
    interface PoolReport {
      received: number[][];
      postErrors: string[];
      siblings: Record<string, number | null>;
      later: Array<string | null>;
    }
    let report: PoolReport;

    before(function () {
      this.timeout(60000);
      const worker = `
${WORKER_HEAD}
const small = (seed) => big(2, 8, seed);
const post = (y) => {
  try {
    parentPort.postMessage(y.data, [y.data.buffer]);
  } catch (e) {
    if (e.name !== 'DataCloneError') throw e;
    postErrors.push(e.name);
    parentPort.postMessage(y.data.slice());
  }
};
const postErrors = [];
(async () => {
  const xs = [1, 2, 3].map(small);
  // Three small results carved from one pool; the first goes to the main thread, buffer and all.
  const ys = xs.map((x) => nk.layerNorm(x, 8));
  post(ys[0]);
  const siblings = {};
  for (const i of [1, 2]) siblings['y' + i] = ys[i].data.length === 0 ? null : check(ys[i], xs[i], 8) === null ? 1 : 0;
  // Then the result of an async call goes too.
  post(await nk.layerNormAsync(small(5), 8));
  const later = [];
  for (let i = 0; i < 40; i++) {
    const x = small(10 + i);
    try {
      later.push(check(i % 2 ? await nk.layerNormAsync(x, 8) : nk.layerNorm(x, 8), x, 8));
    } catch (e) {
      later.push(String(e));
    }
  }
  parentPort.postMessage({ siblings, later: [...new Set(later)], postErrors });
})();
`;
      const c = runChild<PoolReport>(
        `const code = ${J(worker)};
         runWorker(code, {}).then((r) => {
           const last = r.messages[r.messages.length - 1];
           report({ received: r.messages.slice(0, -1).map((m) => Array.from(m)), ...last, errors: r.errors, code: r.code });
         });`,
        false,
      );
      report = expectRanOn(c);
    });

    it('arrives whole in the main thread (transferred, or copied where the pool is untransferable)', () => {
      expect(report.received).to.have.length(2);
      for (const data of report.received) {
        expect(data).to.have.length(16);
        expect(data.every(Number.isFinite)).to.equal(true);
      }
    });

    it('does not break later small sync and async calls in that worker', () => {
      expect(report.later).to.deep.equal([null]);
    });

    it('leaves the results carved beside it intact', () => {
      expect(report.siblings, 'null: detached').to.deep.equal({ y1: 1, y2: 1 });
    });
  });
});
