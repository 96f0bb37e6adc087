// Conformance (../shared/conformance/cases.json) and native-vs-reference at every SIMD tier the
// CPU runs, beside the default tier that the rest of the suite uses: each tier reruns those two
// files in a child process with NORMKIT_SIMD=<tier> (read once, when the addon loads), and
// checks that the tier asked for is the one that ran (test/helpers/tier-check.ts). And the
// isolation of the tiers in the built addon: no code outside the AVX2 and AVX-512 tiers' namespaces
// uses their registers, so the linker kept no AVX copy of a shared inline function.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import { addonStatus } from './helpers/ops';
import { REPO_ROOT } from './helpers/tensors';
import { cpuTiers } from './helpers/tiers';

describe('every SIMD tier: conformance and native vs reference (child processes)', function () {
  this.timeout(600000);
  const tiers = cpuTiers() ?? [];
  const mocha = require.resolve('mocha/bin/mocha.js');
  const files = ['helpers/tier-check.js', 'conformance.test.js', 'native-vs-reference.test.js'].map(
    (f) => path.join(__dirname, f),
  );

  before(function () {
    if (!addonStatus().addon) this.skip();
  });

  // The default (best) tier is the one every other test file runs on.
  for (const tier of tiers.slice(1)) {
    it(`passes with NORMKIT_SIMD=${tier}`, () => {
      const env: NodeJS.ProcessEnv = { ...process.env, NORMKIT_SIMD: tier };
      env.NORMKIT_EXPECT_SIMD = tier;
      delete env.NORMKIT_BACKEND;
      const r = spawnSync(
        process.execPath,
        [mocha, '--no-config', '--reporter', 'dot', '--timeout', '60000', ...files],
        { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 540000 },
      );
      if (r.error) throw r.error;
      expect(r.status, `${r.stdout}\n${r.stderr}`).to.equal(0);
      const passing = Number(/(\d+) passing/.exec(r.stdout)?.[1] ?? 0);
      expect(passing, r.stdout).to.be.greaterThan(100);
    });
  }
});

describe('SIMD tier isolation in the built addon', function () {
  this.timeout(120000);

  it('uses ymm/zmm registers only in the avx2 and avx512 tiers (objdump)', function () {
    const addon = path.join(REPO_ROOT, 'build', 'Release', 'normkit.node');
    if (process.platform !== 'linux' || process.arch !== 'x64' || !fs.existsSync(addon)) {
      this.skip();
    }
    const r = spawnSync('objdump', ['-d', '-C', '--no-show-raw-insn', addon], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    if (r.error || r.status !== 0) this.skip(); // no binutils
    const outside = new Set<string>();
    let fn = '';
    for (const line of r.stdout.split('\n')) {
      const head = /^[0-9a-f]+ <(.*)>:$/.exec(line);
      if (head) fn = head[1];
      else if (/%[yz]mm/.test(line) && !/normkit::(avx2|avx512)::|kernel_table_avx/.test(fn)) {
        outside.add(fn);
      }
    }
    expect([...outside]).to.deep.equal([]);
  });
});
