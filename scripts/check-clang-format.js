// npm run lint's C++ step: fails when a native source differs from what clang-format (with the
// checked-in .clang-format) would write. clang-format is a system tool, not an npm dependency
// (Debian/Ubuntu: apt-get install clang-format), so without it this step says so and passes.
// Set CLANG_FORMAT to use another binary, e.g. CLANG_FORMAT=clang-format-18.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const clangFormat = process.env.CLANG_FORMAT || 'clang-format';

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
  console.log(`check-clang-format: ${clangFormat} not found; skipped the C++ format check.`);
  process.exit(0);
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
