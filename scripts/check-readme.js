// npm run test:readme: runs every ```js block of README.md and docs/*.md, and every ```js
// `@example` of the TSDoc in lib/*.ts, as its own program and compares what it prints with what
// the block says it prints. `npm test` runs the same check
// (test/docs.test.ts). Usage: node scripts/check-readme.js [file.md ...]
//
// Each block runs from the repository root, so `require('normkit')` and `import ... from 'normkit'`
// load this checkout (the package refers to itself by name); a block with an `import` statement
// runs as an ES module. Blocks in other languages (sh, ts, text) are not run. What a block prints
// is written in it, one comment per line of standard output, in order:
//   console.log(numel([2, 3])); // prints: 6            the line, exactly
//   // prints: -1.3416 -0.4472                          (a comment of its own: the next line)
//   console.log(native.simdPath()); // prints, e.g.: avx512   a line that differs by machine
// A block must print exactly the lines it announces (a block that prints nothing announces
// nothing) and nothing on standard error (no warning). Needs the TypeScript build (dist/) and the
// addon: `npm run build` or `npm install` first.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const PRINTS = /\/\/ prints(, e\.g\.)?: ?(.*)$/;

/**
 * The files whose examples are checked: the README, every page of docs/, and the TypeScript
 * sources of lib/ whose TSDoc has ```js examples (what editors show for each export).
 */
function defaultFiles() {
  const list = (dir, ext) =>
    fs
      .readdirSync(path.join(ROOT, dir))
      .filter((f) => f.endsWith(ext))
      .sort()
      .map((f) => `${dir}/${f}`);
  const sources = list('lib', '.ts').filter((f) =>
    /^\s*\*\s*```js\s*$/m.test(fs.readFileSync(path.join(ROOT, f), 'utf8')),
  );
  return ['README.md', ...list('docs', '.md'), ...sources];
}

/**
 * The ```js blocks of a Markdown file, or of the TSDoc comments of a TypeScript file (`@example`
 * blocks, their ` * ` prefixes removed): where each starts, its code, what it says it prints.
 */
function blocksOf(file) {
  const tsdoc = file.endsWith('.ts');
  const lines = fs
    .readFileSync(path.join(ROOT, file), 'utf8')
    .split('\n')
    .map((l) => (tsdoc ? l.replace(/^\s*\* ?/, '') : l));
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```js') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== '```') end++;
    const code = lines.slice(start, end);
    const expected = [];
    for (const line of code) {
      const m = PRINTS.exec(line);
      if (m) expected.push({ exact: m[1] === undefined, text: m[2].trimEnd() });
    }
    blocks.push({ line: start + 1, code: code.join('\n'), expected });
    i = end;
  }
  return blocks;
}

/** This environment without normkit's own variables, so each example runs as in a fresh shell. */
function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NORMKIT_')) env[k] = v;
  return env;
}

/** Runs one block; returns null when it exits 0 and prints what it announces, else why not. */
function runBlock(block) {
  const esm = /^\s*import\s/m.test(block.code);
  const r = spawnSync(process.execPath, esm ? ['--input-type=module', '-'] : ['-'], {
    cwd: ROOT,
    input: block.code,
    encoding: 'utf8',
    timeout: 60000,
    env: cleanEnv(),
  });
  if (r.error) return String(r.error);
  if (r.status !== 0) return `exited with ${r.status ?? r.signal}:\n${r.stderr || r.stdout}`;
  if (r.stderr) return `wrote to standard error:\n${r.stderr}`;
  const printed = r.stdout === '' ? [] : r.stdout.replace(/\n$/, '').split('\n');
  const problems = [];
  const n = Math.max(printed.length, block.expected.length);
  for (let i = 0; i < n; i++) {
    const want = block.expected[i];
    const got = printed[i];
    if (want === undefined) problems.push(`line ${i + 1} printed but not announced: ${got}`);
    else if (got === undefined) problems.push(`line ${i + 1} announced but not printed: ${want.text}`);
    else if (want.exact && got.trimEnd() !== want.text) {
      problems.push(`line ${i + 1}\n  announced: ${want.text}\n  printed:   ${got}`);
    }
  }
  return problems.length ? problems.join('\n') : null;
}

/** Checks every block of `file`; returns how many ran and the failures, `file:line: why`. */
function checkFile(file) {
  const failures = [];
  const blocks = blocksOf(file);
  for (const block of blocks) {
    const why = runBlock(block);
    if (why !== null) failures.push(`${file}:${block.line}: ${why.trim().replace(/\n/g, '\n    ')}`);
  }
  return { blocks: blocks.length, failures };
}

module.exports = { checkFile, defaultFiles };

if (require.main === module) {
  const files = process.argv.length > 2 ? process.argv.slice(2) : defaultFiles();
  let failed = 0;
  for (const file of files) {
    const { blocks, failures } = checkFile(file);
    for (const f of failures) console.error(f);
    failed += failures.length;
    console.log(`${file}: ${blocks - failures.length} of ${blocks} examples ran as documented`);
  }
  process.exit(failed === 0 ? 0 : 1);
}
