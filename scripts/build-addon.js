// npm test's first step: rebuilds the addon when its C++ changed since build/Release/normkit.node
// was linked, so the suite never runs a stale addon after a C++ edit. `node-gyp build` (make)
// recompiles only what changed, headers included; a new or removed source file, or a changed
// binding.gyp, needs `node-gyp configure` first (binding.gyp lists the sources when configured).
// With nothing changed this costs a directory walk, not a make run. The kernels are compiled once
// per SIMD tier (binding.gyp), so make runs with a job per core.
//
// Where no addon was built (`npm install` on a machine without a compiler falls back to the
// reference backend), a failed build warns and the tests run on the reference backend, as
// normkit does; where an addon exists, a failed rebuild fails npm test, since the suite would
// otherwise test the old addon. NORMKIT_BACKEND=js skips the build.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const addonPath = path.join(root, 'build', 'Release', 'normkit.node');
const makefile = path.join(root, 'build', 'Makefile');
const buildDir = path.join(root, 'build');

if (process.env.NORMKIT_BACKEND === 'js') process.exit(0);

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/** Every C++ source and header under native/, relative to the root. */
function nativeFiles(dir = 'native') {
  const out = [];
  for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...nativeFiles(rel));
    else if (/\.(cc|h)$/.test(e.name)) out.push(rel);
  }
  return out;
}

/** The Node headers the last configure used (npm passes its nodedir; a bare `node` run does not). */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  try {
    const gypi = fs.readFileSync(path.join(root, 'build', 'config.gypi'), 'utf8');
    const m = /"nodedir":\s*"([^"]+)"/.exec(gypi);
    return m ? [`--nodedir=${m[1]}`] : [];
  } catch {
    return [];
  }
}

function gyp(args) {
  const bin = require.resolve('node-gyp/bin/node-gyp.js');
  const extra = args[0] === 'configure' ? nodedirArgs() : [];
  return spawnSync(process.execPath, [bin, ...args, ...extra], { cwd: root, stdio: 'inherit' })
    .status;
}

const built = mtime(addonPath);
const sources = require(path.join(root, 'native', 'sources.js')).all;
let configure = mtime(makefile) < 0 || mtime(path.join(root, 'binding.gyp')) > mtime(makefile);
if (!configure) {
  // The configured source list must be today's (a file added or removed since): the union over
  // the targets (the addon and the per-tier kernel libraries).
  const listed = new Set();
  for (const name of fs.readdirSync(buildDir).filter((f) => f.endsWith('.target.mk'))) {
    const mk = fs.readFileSync(path.join(buildDir, name), 'utf8');
    for (const m of mk.matchAll(/\$\(obj\)\.target\/\$\(TARGET\)\/(\S+)\.o/g)) {
      listed.add(`${m[1]}.cc`);
    }
  }
  configure = [...listed].sort().join('\n') !== [...sources].sort().join('\n');
}
const changed = nativeFiles().filter((f) => mtime(path.join(root, f)) > built);
if (!configure && built >= 0 && changed.length === 0) process.exit(0);

const why = configure
  ? 'the source list or binding.gyp changed'
  : built < 0
    ? 'there is no build/Release/normkit.node'
    : `${changed.length} C++ file(s) changed (${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', ...' : ''})`;
console.log(`build-addon: ${why}; rebuilding the addon`);
const status = configure ? gyp(['configure']) || gyp(['build', '--jobs', 'max']) : gyp(['build', '--jobs', 'max']);
if (status !== 0) {
  if (built >= 0) {
    console.error('build-addon: the addon failed to build; not testing the stale one.');
    process.exit(status || 1);
  }
  console.warn('build-addon: no addon could be built; the tests run on the reference backend.');
}
