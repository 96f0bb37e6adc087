'use strict';

// The bench's own dependencies (bench/package.json: the onnxruntime-node peer, vega and
// vega-lite for the chart), installed on first use with `npm ci --prefix bench`: the lockfile is
// followed and never rewritten, so a run leaves the checkout clean. onnxruntime-node's
// postinstall would try to download GPU binaries, so it is told to skip; the CPU binary ships
// inside the npm package.

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const BENCH_DIR = __dirname;
const MODULES = path.join(BENCH_DIR, 'node_modules');

function missing() {
  const pkg = JSON.parse(fs.readFileSync(path.join(BENCH_DIR, 'package.json'), 'utf8'));
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
  return names.filter((n) => !fs.existsSync(path.join(MODULES, n, 'package.json')));
}

// Returns null, or why the install failed (the bench then goes on without what is missing).
function ensureBenchDeps(log) {
  const absent = missing();
  if (!absent.length) return null;
  log(`bench dependencies missing (${absent.join(', ')}): running npm ci --prefix bench`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const res = spawnSync(npm, ['ci', '--prefix', BENCH_DIR, '--no-audit', '--no-fund'], {
    cwd: BENCH_DIR,
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (res.error) return `npm ci failed: ${res.error.message}`;
  if (res.status !== 0) return `npm ci exited with status ${res.status}`;
  return null;
}

module.exports = { ensureBenchDeps, MODULES };
