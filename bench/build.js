'use strict';

// Builds the bench's small C++ programs on demand with the system compiler, into the ignored
// bench/results/build/ (so a run leaves the checkout clean): the streaming-store copy module
// (native/stream_copy.cc) and the oneDNN peer (onednn/peer.cc). A build is reused while its
// source and command are unchanged (the output's name carries their hash).

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const BENCH_DIR = __dirname;
const BUILD_DIR = path.join(BENCH_DIR, 'results', 'build');
const CXX = process.env.CXX || 'g++';

// Compiles `source` with `args` (before: source, after: libraries) into BUILD_DIR/<name>-<hash>
// (+ ext), the hash covering the source, the headers it includes (`headers`) and the command.
// Returns { file } or { error } with the compiler's first lines.
function build(name, source, { before = [], after = [], ext = '', headers = [] } = {}) {
  const h = crypto.createHash('sha256');
  for (const f of [source, ...headers]) h.update(fs.readFileSync(f));
  const hash = h
    .update(JSON.stringify([CXX, before, after, process.version]))
    .digest('hex')
    .slice(0, 12);
  const file = path.join(BUILD_DIR, `${name}-${hash}${ext}`);
  if (fs.existsSync(file)) return { file };
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const tmp = `${file}.tmp`;
  const r = spawnSync(CXX, [...before, source, ...after, '-o', tmp], { encoding: 'utf8' });
  if (r.error) return { error: `${CXX} not runnable: ${r.error.message}` };
  if (r.status !== 0) {
    const first = (r.stderr || '').trim().split('\n').slice(0, 3).join(' | ');
    return { error: `${CXX} exited with status ${r.status}${first ? `: ${first}` : ''}` };
  }
  fs.renameSync(tmp, file);
  return { file };
}

// Where node_api.h is: beside this node binary (official builds and distribution packages), or
// node-gyp's header cache.
function nodeIncludeDir() {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.resolve(path.dirname(process.execPath), '..', 'include', 'node'),
    path.join(os.homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
    '/usr/include/node',
  ].filter(Boolean);
  return candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h'))) || null;
}

// The streaming-store copy: { mod } (streamCopy, streamCopyTiers) or { error }.
function loadStreamCopy() {
  const include = nodeIncludeDir();
  if (!include)
    return { error: 'node_api.h not found (no Node headers beside node or in node-gyp cache)' };
  const before = ['-std=c++17', '-O2', '-shared', '-fPIC', '-fopenmp', `-I${include}`];
  if (process.platform === 'darwin') before.push('-undefined', 'dynamic_lookup');
  const r = build('stream_copy', path.join(BENCH_DIR, 'native', 'stream_copy.cc'), {
    before,
    ext: '.node',
    headers: [path.join(BENCH_DIR, 'native', 'stream_copy.h')],
  });
  if (r.error) return r;
  try {
    return { mod: require(r.file) };
  } catch (err) {
    return { error: `cannot load ${r.file}: ${err.message.split('\n')[0]}` };
  }
}

module.exports = { build, loadStreamCopy, BUILD_DIR };
