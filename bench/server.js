#!/usr/bin/env node
'use strict';

// The server row: examples/server.js (forwardAsync) against examples/server-sync.js (forward)
// under the same load. Each server runs in a child process; this process is the load: `clients`
// connections each posting a [rows, width] float32 batch (through the servers' 4 LayerNorm
// layers) as fast as answers come, and one more client sending GET /ping every `pingMs` ms.
// Reported per server: normalized batches per second and /ping latency (median, p99, max),
// each the median over `runs` runs; the servers take turns, so drift in the machine's load
// hits both. Also /ping latency with no load, and a check that both servers answer the same.
//
//   node bench/server.js [--rows 2048] [--width 768] [--clients 4] [--seconds 5] [--runs 3]
//                        [--ping-ms 10] [--json PATH]

const http = require('node:http');
const os = require('node:os');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const REPO_ROOT = path.resolve(__dirname, '..');
const SERVERS = {
  async: path.join(REPO_ROOT, 'examples/server.js'),
  sync: path.join(REPO_ROOT, 'examples/server-sync.js'),
};

function parseArgs(argv) {
  const o = { rows: 2048, width: 768, clients: 4, seconds: 5, runs: 3, pingMs: 10, json: null };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (key === 'h' || key === 'help') {
      console.log(
        'node bench/server.js [--rows N] [--width N] [--clients N] [--seconds S] [--runs N] [--ping-ms MS] [--json PATH]',
      );
      process.exit(0);
    }
    if (!(key in o)) throw new Error(`unknown option ${argv[i]}`);
    const value = argv[++i];
    o[key] = key === 'json' ? value : Number(value);
  }
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function quantile(values, q) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
const median = (values) => {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Starts a server script on a free port; resolves with { port, child } once it listens. */
function startServer(script) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, '0'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve({ port: Number(m[1]), child });
    });
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}: ${out}`)));
  });
}

function stopServer(s) {
  s.child.removeAllListeners('exit');
  return new Promise((resolve) => {
    s.child.once('exit', resolve);
    s.child.kill();
  });
}

/** One request; resolves with { status, body (Buffer), ms }. */
function request(port, agent, method, urlPath, body) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: urlPath,
        agent,
        headers: body ? { 'content-length': body.length } : {},
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            body: Buffer.concat(chunks),
            ms: performance.now() - t0,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** GET /ping every `pingMs` until `until()`; the latencies in ms. */
async function pinger(port, pingMs, until) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  while (!until()) {
    const r = await request(port, agent, 'GET', '/ping');
    if (r.status !== 200) throw new Error(`/ping answered ${r.status}`);
    latencies.push(r.ms);
    await sleep(pingMs);
  }
  agent.destroy();
  return latencies;
}

/** One run against one server: `clients` posting loops and a pinger for `seconds`. */
async function run(port, body, o) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.clients });
  // Warm-up: every client once (pool threads, pages).
  await Promise.all(
    Array.from({ length: o.clients }, () => request(port, agent, 'POST', '/layer-norm', body)),
  );
  let stop = false;
  let done = 0;
  const t0 = performance.now();
  const clients = Array.from({ length: o.clients }, async () => {
    while (!stop) {
      const r = await request(port, agent, 'POST', '/layer-norm', body);
      if (r.status !== 200 || r.body.length !== body.length)
        throw new Error(`bad answer ${r.status}`);
      if (!stop) done++;
    }
  });
  const pings = pinger(port, o.pingMs, () => stop);
  await sleep(o.seconds * 1000);
  stop = true;
  const elapsed = (performance.now() - t0) / 1000;
  const latencies = await pings;
  await Promise.all(clients);
  agent.destroy();
  return {
    batchesPerS: done / elapsed,
    pingMedianMs: median(latencies),
    pingP99Ms: quantile(latencies, 0.99),
    pingMaxMs: Math.max(...latencies),
    pings: latencies.length,
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const nk = require(REPO_ROOT);
  const x = new Float32Array(o.rows * o.width);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 3 + (i % o.width) * 1e-3;
  const body = Buffer.from(x.buffer);
  const mib = (body.length / 2 ** 20).toFixed(1);
  console.log(
    `normkit server bench: ${o.clients} clients posting [${o.rows}, ${o.width}] float32 (${mib} MiB) ` +
      `through 4 LayerNorm layers, GET /ping every ${o.pingMs} ms; ${o.runs} runs of ${o.seconds} s per server`,
  );
  console.log(
    `backend ${nk.backend}, ${nk.getNumThreads()} thread(s) per call, ${os.availableParallelism()} cores, ` +
      `UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, Node ${process.version}`,
  );

  const servers = {};
  for (const [name, script] of Object.entries(SERVERS)) servers[name] = await startServer(script);
  try {
    // Both answer the same batch alike.
    const answers = {};
    const idle = {};
    for (const [name, s] of Object.entries(servers)) {
      const agent = new http.Agent({ keepAlive: true });
      const small = Buffer.from(x.buffer, 0, 4 * o.width * 4);
      answers[name] = new Float32Array(
        new Uint8Array((await request(s.port, agent, 'POST', '/layer-norm', small)).body).buffer,
      );
      const lat = [];
      for (let i = 0; i < 50; i++) lat.push((await request(s.port, agent, 'GET', '/ping')).ms);
      idle[name] = median(lat);
      agent.destroy();
    }
    let diff = 0;
    for (let i = 0; i < answers.async.length; i++)
      diff = Math.max(diff, Math.abs(answers.async[i] - answers.sync[i]));
    if (!(diff <= 1e-5) || answers.async.length !== 4 * o.width)
      throw new Error(`the servers disagree: ${diff}`);

    const runs = { async: [], sync: [] };
    for (let r = 0; r < o.runs; r++) {
      for (const name of r % 2 ? ['sync', 'async'] : ['async', 'sync']) {
        const m = await run(servers[name].port, body, o);
        runs[name].push(m);
        console.log(
          `  run ${r + 1} ${name.padEnd(5)} ${m.batchesPerS.toFixed(2)} batches/s, /ping median ` +
            `${m.pingMedianMs.toFixed(1)} ms, p99 ${m.pingP99Ms.toFixed(1)} ms, max ${m.pingMaxMs.toFixed(1)} ms (${m.pings} pings)`,
        );
      }
    }
    const summary = {};
    for (const name of ['async', 'sync']) {
      const keys = ['batchesPerS', 'pingMedianMs', 'pingP99Ms', 'pingMaxMs'];
      summary[name] = Object.fromEntries(keys.map((k) => [k, median(runs[name].map((m) => m[k]))]));
      summary[name].idlePingMs = idle[name];
    }
    const f = (v, d = 1) => v.toFixed(d).padStart(10);
    console.log(
      '\nmedians over runs     batches/s  ping median    ping p99    ping max   idle ping',
    );
    for (const name of ['async', 'sync']) {
      const s = summary[name];
      console.log(
        `${`${name} server`.padEnd(20)}${f(s.batchesPerS, 2)}${f(s.pingMedianMs)} ms${f(s.pingP99Ms)} ms${f(s.pingMaxMs)} ms${f(s.idlePingMs, 2)} ms`,
      );
    }
    const a = summary.async;
    const s = summary.sync;
    console.log(
      `async / sync        ${f(a.batchesPerS / s.batchesPerS, 2)}x${f(a.pingMedianMs / s.pingMedianMs, 3)}x ` +
        `${f(a.pingP99Ms / s.pingP99Ms, 3)}x ${f(a.pingMaxMs / s.pingMaxMs, 3)}x`,
    );
    if (o.json) {
      const report = {
        options: o,
        machine: {
          cores: os.availableParallelism(),
          node: process.version,
          backend: nk.backend,
          threads: nk.getNumThreads(),
        },
        runs,
        summary,
      };
      fs.writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
    }
  } finally {
    for (const s of Object.values(servers)) await stopServer(s);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
