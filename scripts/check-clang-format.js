// npm run lint's C++ step: fails when a native source differs from what clang-format (with the
// checked-in .clang-format) would write. The binary is the project's own: the devDependency
// clang-format-node, pinned to an exact version (clang-format 22.1.8), which ships a static
// binary per platform, so every machine checks with the same formatter. A missing binary fails
// the check (it never skips). CLANG_FORMAT=<path> checks with another binary instead.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
/** The pinned binary from clang-format-node, or the CLANG_FORMAT override. */
function clangFormatBinary() {
  if (process.env.CLANG_FORMAT) return process.env.CLANG_FORMAT;
  try {
    return require('clang-format-node').clangFormatPath;
  } catch (e) {
    console.error(
      'check-clang-format: the clang-format-node devDependency is missing (run `npm ci`): ' +
        (e instanceof Error ? e.message.split('\n')[0] : String(e)),
    );
    process.exit(1);
  }
}
const clangFormat = clangFormatBinary();

// The files `npm run format` formats: native/*.{cc,h}, native/*/*.{cc,h} and scripts/*.cc.
function sources() {
  const isSource = (name) => name.endsWith('.cc') || name.endsWith('.h');
  const list = (dir) =>
    fs
      .readdirSync(path.join(root, dir), { withFileTypes: true })
      .filter((e) => e.isFile() && isSource(e.name))
      .map((e) => path.posix.join(dir, e.name));
  const subdirs = fs
    .readdirSync(path.join(root, 'native'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => path.posix.join('native', e.name));
  return ['native', ...subdirs, 'scripts'].flatMap(list).sort();
}

const version = spawnSync(clangFormat, ['--version'], { encoding: 'utf8' });
if (version.error || version.status !== 0) {
  const why = version.error ? version.error.message : `exit ${version.status}: ${version.stderr}`;
  console.error(`check-clang-format: cannot run ${clangFormat} (${why.trim()}); failing the check.`);
  process.exit(1);
}

const files = sources();
const result = spawnSync(clangFormat, ['--dry-run', '--Werror', ...files], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) {
  console.error(
    `check-clang-format: the files above differ from ${version.stdout.trim()}'s output; ` +
      'run `npm run format`.',
  );
  process.exit(result.status || 1);
}
console.log(`check-clang-format: ${files.length} files formatted (${version.stdout.trim()}).`);
