// npm run test:readme: runs every ```js block of README.md as its own program, from the
// repository root, so `require('normkit')` and `import ... from 'normkit'` load this checkout
// (the package refers to itself by name). A block with an `import` statement runs as an ES
// module. Blocks in other languages (sh, ts, text) are not run. Needs the TypeScript build
// (dist/) and, for the native backend, the addon: `npm run build` or `npm install` first.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const file = process.argv[2] || 'README.md';
const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');

const blocks = [];
for (let i = 0; i < lines.length; i++) {
  if (lines[i].trim() !== '```js') continue;
  const start = i + 1;
  let end = start;
  while (end < lines.length && lines[end].trim() !== '```') end++;
  blocks.push({ line: start + 1, code: lines.slice(start, end).join('\n') });
  i = end;
}

let failed = 0;
for (const { line, code } of blocks) {
  const esm = /^\s*import\s/m.test(code);
  const args = esm ? ['--input-type=module', '-'] : ['-'];
  const result = spawnSync(process.execPath, args, {
    cwd: root,
    input: code,
    encoding: 'utf8',
    timeout: 60000,
  });
  if (result.status === 0) continue;
  failed++;
  console.error(`${file}:${line}: the example exited with ${result.status ?? result.signal}`);
  console.error((result.stderr || result.stdout || '').trim().replace(/^/gm, '    '));
}
console.log(`${file}: ${blocks.length - failed} of ${blocks.length} examples ran`);
process.exit(failed === 0 ? 0 : 1);
