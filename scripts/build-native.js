#!/usr/bin/env node
// Builds the addon from source and stages it as this platform's prebuilt binary.
//
//   node scripts/build-native.js            node-gyp rebuild, then stage; a failed build warns and
//                                           exits 0 (normkit then runs on the reference backend)
//   node scripts/build-native.js --strict   the same, but a failed build is an error (release
//                                           builds: npm pack/publish)
//   node scripts/build-native.js --stage    only stage the existing build/Release/normkit.node
//
// NORMKIT_REQUIRE_NATIVE=1 implies --strict. Staging copies build/Release/normkit.node (stripped)
// to prebuilds/<platform>-<arch>/node.napi[.glibc|.musl].node: prebuildify's layout and names,
// which node-gyp-build (the loader in lib/native.ts) reads. The addon is Node-API only
// (NAPI_VERSION=8) and picks its SIMD path at run time, so this one file serves every Node
// version and every CPU of the platform. prebuilds/ is ignored by git and shipped by npm pack.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const BUILT = path.join(ROOT, 'build', 'Release', 'normkit.node');
const args = new Set(process.argv.slice(2));
const strict = args.has('--strict') || process.env.NORMKIT_REQUIRE_NATIVE === '1';

/** prebuilds/<platform>-<arch>/ and the file name node-gyp-build matches for this runtime. */
function prebuildPath() {
  let libc = '';
  if (process.platform === 'linux') {
    const header = process.report.getReport().header;
    libc = header.glibcVersionRuntime ? '.glibc' : '.musl';
  }
  const dir = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
  return { dir, file: path.join(dir, `node.napi${libc}.node`) };
}

/**
 * A shipped Linux binary must load wherever Node.js itself runs: Node 20's Linux builds need
 * glibc 2.28, so the binary may not ask for newer glibc symbols (building on a newer distribution
 * can pull them in). Needs binutils' objdump; without it the check is skipped with a note.
 */
function checkGlibc() {
  const r = spawnSync('objdump', ['-T', BUILT], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.warn('normkit: objdump not found; not checking the glibc versions the binary needs');
    return;
  }
  const versions = [...r.stdout.matchAll(/\bGLIBC_(\d+)\.(\d+)/g)].map((m) => [+m[1], +m[2]]);
  const newest = versions.sort((a, b) => b[0] - a[0] || b[1] - a[1])[0];
  if (newest && (newest[0] > 2 || (newest[0] === 2 && newest[1] > 28))) {
    console.error(
      `normkit: the binary needs glibc ${newest.join('.')}, newer than the 2.28 Node.js 20 ` +
        'needs; build the release on an older distribution (glibc 2.28 or earlier)',
    );
    process.exit(1);
  }
}

function stage() {
  if (!fs.existsSync(BUILT)) {
    console.error(`normkit: nothing to stage: ${path.relative(ROOT, BUILT)} does not exist`);
    process.exit(1);
  }
  if (strict) {
    // A shipped binary must load and be multithreaded (an older build without threads was not).
    const addon = require(BUILT);
    if (!addon.multithreaded()) {
      console.error('normkit: refusing to ship a single-threaded binary');
      process.exit(1);
    }
  }
  if (strict && process.platform === 'linux') checkGlibc();
  const { dir, file } = prebuildPath();
  fs.mkdirSync(dir, { recursive: true });
  // Write beside the target and rename, so a concurrent reader never sees half a file; drop the
  // binaries of other names (an older naming, the other libc) so exactly one remains.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.copyFileSync(BUILT, tmp);
  if (process.platform !== 'win32') {
    // The symbol table is not needed to load or run the addon (its exports are dynamic symbols).
    const args = process.platform === 'darwin' ? ['-x', tmp] : ['--strip-all', tmp];
    spawnSync('strip', args, { stdio: 'ignore' });
  }
  for (const name of fs.readdirSync(dir)) {
    if (name.endsWith('.node') && path.join(dir, name) !== file) fs.rmSync(path.join(dir, name));
  }
  fs.renameSync(tmp, file);
  const kib = Math.round(fs.statSync(file).size / 1024);
  console.log(`normkit: staged ${path.relative(ROOT, file)} (${kib} KiB)`);
}

if (!args.has('--stage')) {
  const gyp = require.resolve('node-gyp/bin/node-gyp.js');
  const result = spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    const message =
      'normkit: building the native addon failed (see above). normkit still works, on its pure ' +
      'TypeScript reference backend, and warns when it loads. Install a C++17 compiler, python3 ' +
      'and make, then run `npm run build:native`.';
    if (strict) {
      console.error(message);
      process.exit(result.status || 1);
    }
    console.warn(message);
    process.exit(0);
  }
}
stage();
