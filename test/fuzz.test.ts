// Property-based fuzzing of the whole public API (fast-check; generators and the property in
// test/helpers/fuzz.ts): every op's function and async twin on the default backend, its
// reference, its describe*, every module class, tensor and numel, with generated arguments,
// well-formed and malformed. Each call returns the reference's result or throws (rejects) a
// TypeError/RangeError naming a public argument, changing nothing. Zero-size tensors with huge
// dimensions run in a child process, so a crash or a hang is a failed case, not a dead run.
// NORMKIT_FUZZ_RUNS sets the cases per property, NORMKIT_FUZZ_SEED the seed. Counterexamples the
// fuzzing found are replayed by name at the end.
import { spawnSync } from 'child_process';
import { expect } from 'chai';
import * as fc from 'fast-check';
import * as normkit from 'normkit';
import {
  buildOpCall,
  checkDescribeRecipe,
  checkModuleRecipe,
  checkOpRecipe,
  checkTensorRecipe,
  describeRecipeArb,
  fcParams,
  judgeError,
  MODULES,
  moduleRecipeArb,
  opRecipeArb,
  outcomes,
  RUNS,
  SEED,
  tally,
  tensorRecipeArb,
  BAD_ARRAYS,
  type ModuleRecipe,
  type OpRecipe,
} from './helpers/fuzz';
import { optionsOfKind } from './helpers/op-cases';
import { defaultBackendSkipReason, OP_LIST, OPS, pascal } from './helpers/ops';
import { REPO_ROOT } from './helpers/tensors';

const count = (property: string) => {
  tally[property] = (tally[property] ?? 0) + 1;
};

/** Fails with the case's description and what went wrong. */
function fail(description: string, problems: string[]): void {
  if (problems.length) throw new Error(`${description}\n  - ${problems.join('\n  - ')}`);
}

async function opProperty(r: OpRecipe): Promise<void> {
  count(`${r.op}${r.async ? 'Async' : ''}${r.api === 'reference' ? ' (reference)' : ''}`);
  fail(buildOpCall(r).description, await checkOpRecipe(r));
}

describe(`fuzz (fast-check, ${RUNS} cases per property, seed ${SEED})`, function () {
  this.timeout(120000);

  after(() => {
    const total = Object.values(tally).reduce((a, b) => a + b, 0);
    console.log(
      `      fuzz: ${total} generated cases in ${Object.keys(tally).length} properties (seed ${SEED})`,
    );
    console.log(`      op calls by what was due/what happened: ${JSON.stringify(outcomes)}`);
  });

  for (const op of OP_LIST) {
    describe(op.name, () => {
      const skip = defaultBackendSkipReason(op);
      it(`${op.name}: the reference's result, or a TypeError/RangeError naming the argument, nothing changed`, async function () {
        if (skip) this.skip();
        await fc.assert(
          fc.asyncProperty(opRecipeArb(op, 'default', false), opProperty),
          fcParams(),
        );
      });
      it(`${op.name}Async: the same, as a promise`, async function () {
        if (skip) this.skip();
        await fc.assert(
          fc.asyncProperty(opRecipeArb(op, 'default', true), opProperty),
          fcParams(0.6),
        );
      });
      it(`reference.${op.name}: the same on the reference backend`, async () => {
        await fc.assert(
          fc.asyncProperty(opRecipeArb(op, 'reference', false), opProperty),
          fcParams(0.5),
        );
      });
      it(`describe${pascal(op.name)}: the descriptor's numbers, or a proper error`, () => {
        fc.assert(
          fc.property(describeRecipeArb(op), (r) => {
            count(`describe${pascal(op.name)}`);
            fail(`describe${pascal(op.name)} ${JSON.stringify(r)}`, checkDescribeRecipe(r));
          }),
          fcParams(0.5),
        );
      });
    });
  }

  // A suite of its own: mocha runs a suite's tests before its child suites (the ops above).
  describe('op calls', () => {
    it('most well-formed op calls returned a result (the fuzzing is not vacuous)', function () {
      const ok = outcomes['model/result'] ?? 0;
      const refused = outcomes['reference rejects/threw'] ?? 0;
      if (ok + refused < 20) this.skip();
      expect(ok, JSON.stringify(outcomes)).to.be.greaterThan(refused);
    });
  });

  describe('module classes', () => {
    const stats: Record<string, number> = {};
    for (const { name, op } of MODULES) {
      it(`${name}: construction, forward(Async), train, loadStateDict, a corrupt counter`, async function () {
        const skip = defaultBackendSkipReason(op);
        if (skip) this.skip();
        await fc.assert(
          fc.asyncProperty(moduleRecipeArb(name), async (r: ModuleRecipe) => {
            count(name);
            fail(`${name} ${JSON.stringify(r)}`, await checkModuleRecipe(r, stats));
          }),
          fcParams(0.6),
        );
      });
    }
    it('most well-formed forward calls returned a result (the fuzzing is not vacuous)', function () {
      const ok = stats['forward model/result'] ?? 0;
      const refused = stats['forward reference rejects/threw'] ?? 0;
      console.log(`      module steps by what was due/what happened: ${JSON.stringify(stats)}`);
      if (ok + refused < 20) this.skip();
      expect(ok, JSON.stringify(stats)).to.be.greaterThan(refused);
    });
  });

  it('numel and tensor: the product and a tensor of it, or a proper error', () => {
    fc.assert(
      fc.property(tensorRecipeArb, (r) => {
        count('tensor/numel');
        fail(`tensor/numel ${JSON.stringify(r)}`, checkTensorRecipe(r));
      }),
      fcParams(1),
    );
  });

  describe('zero-size tensors with huge dimensions (child process: a crash or hang fails a case)', () => {
    for (const op of OP_LIST) {
      it(`${op.name}: an empty result or a proper error, quickly`, function () {
        if (defaultBackendSkipReason(op)) this.skip();
        const cases = fc.sample(hugeZeroArb(op), {
          numRuns: Math.max(4, Math.round(RUNS / 4)),
          seed: SEED,
        });
        cases.forEach(() => count(`${op.name} (huge zero-size)`));
        const problems = runHugeZeroCases(cases);
        expect(problems, problems.join('\n')).to.deep.equal([]);
      });
    }
  });
});

// ---- zero-size tensors with huge dimensions -----------------------------------------------

interface HugeZeroCase {
  op: string;
  shape: number[];
  /** Trailing axes normalized / numGroups / bool options, as the op takes them. */
  axes: number;
  groups: number;
  bools: Record<string, boolean>;
  layout: string | undefined;
  api: 'default' | 'reference';
}

const HUGE = [1, 2, 3, 2 ** 20, 2 ** 31, 2 ** 40, 2 ** 52];

function hugeZeroArb(op: (typeof OP_LIST)[number]): fc.Arbitrary<HugeZeroCase> {
  return fc
    .record({
      op: fc.constant(op.name),
      dims: fc.array(fc.constantFrom(...HUGE), { minLength: 1, maxLength: 4 }),
      zeroAt: fc.nat(4),
      axes: fc.integer({ min: 1, max: 3 }),
      groups: fc.constantFrom(1, 2, 2 ** 20, 2 ** 40),
      bools: fc.record(Object.fromEntries(optionsOfKind(op, 'bool').map((k) => [k, fc.boolean()]))),
      layout: optionsOfKind(op, 'layout').length
        ? fc.constantFrom(undefined, 'channels_last')
        : fc.constant(undefined),
      api: fc.constantFrom('default' as const, 'reference' as const),
    })
    .map(({ dims, zeroAt, ...rest }) => {
      const shape = dims.slice();
      shape.splice(zeroAt % (dims.length + 1), 0, 0);
      return { ...rest, shape };
    });
}

/** The call of a case, as source for the child. */
function hugeZeroSource(c: HugeZeroCase): string {
  const op = OPS[c.op];
  const rank = c.shape.length;
  const ns = c.shape.slice(rank - Math.min(c.axes, rank));
  const t = `{ data: new Float32Array(0), shape: ${JSON.stringify(c.shape)} }`;
  const options: Record<string, unknown> = { ...c.bools };
  if (c.layout) options.layout = c.layout;
  const args = op.params.map((p) => {
    if (p.kind === 'tensor') return t;
    if (p.kind === 'normalizedShape') return JSON.stringify(ns);
    if (p.kind === 'count') return String(c.groups);
    return JSON.stringify(options);
  });
  return `${c.api === 'reference' ? 'nk.reference' : 'nk'}.${c.op}(${args.join(', ')})`;
}

/** Runs the cases in one child, one line per case; the case a crash or hang stops at fails. */
function runHugeZeroCases(cases: readonly HugeZeroCase[]): string[] {
  return runHugeZeroSource(...cases.map(hugeZeroSource));
}

function runHugeZeroSource(...sources: string[]): string[] {
  const script = [
    `const nk = require(${JSON.stringify(REPO_ROOT)});`,
    `const calls = [${sources.map((s) => `() => ${s}`).join(',\n')}];`,
    'for (let i = 0; i < calls.length; i++) {',
    '  process.stdout.write(`start ${i}\\n`);',
    '  const t0 = Date.now();',
    '  let r;',
    '  try {',
    '    const v = calls[i]();',
    '    const ts = v.data ? [v] : Object.values(v);',
    "    r = { ok: ts.every((x) => x.data.length === 0 && Array.isArray(x.shape)) ? 'empty' : 'non-empty result' };",
    '  } catch (e) {',
    "    r = { error: e instanceof TypeError ? 'TypeError' : e instanceof RangeError ? 'RangeError' : String(e && e.constructor && e.constructor.name), message: String(e && e.message) };",
    '  }',
    '  r.ms = Date.now() - t0;',
    '  process.stdout.write(`done ${i} ${JSON.stringify(r)}\\n`);',
    '}',
  ].join('\n');
  const child = spawnSync(process.execPath, ['-e', script], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 5000,
    env: { ...process.env, NORMKIT_NUM_THREADS: '2' },
  });
  const problems: string[] = [];
  const done = new Map<number, { ok?: string; error?: string; message?: string; ms: number }>();
  let last = -1;
  for (const line of child.stdout.split('\n')) {
    const s = /^start (\d+)$/.exec(line);
    if (s) last = Number(s[1]);
    const d = /^done (\d+) (.*)$/.exec(line);
    if (d) done.set(Number(d[1]), JSON.parse(d[2]));
  }
  const names = new Set([
    'input',
    'input.data',
    'input.shape',
    'residual.shape',
    'normalizedShape',
    'numGroups',
    'runningMean and runningVar',
  ]);
  for (const [i, src] of sources.entries()) {
    const r = done.get(i);
    if (!r) {
      if (i === last) {
        const why = child.error
          ? `hung (killed after 5 s)`
          : `crashed (${child.signal ?? `exit ${child.status}`}): ${child.stderr.trim().split('\n').slice(-2).join(' / ')}`;
        problems.push(`${src}: ${why}`);
      }
      continue;
    }
    if (r.ms > 2000) problems.push(`${src}: took ${r.ms} ms on an empty tensor`);
    if (r.ok && r.ok !== 'empty') problems.push(`${src}: ${r.ok}`);
    if (r.error) {
      const e =
        r.error === 'TypeError'
          ? new TypeError(r.message)
          : r.error === 'RangeError'
            ? new RangeError(r.message)
            : new Error(`${r.error}: ${r.message}`);
      problems.push(...judgeError(e, { kind: 'loose' }, names).map((p) => `${src}: ${p}`));
    }
  }
  if (done.size < sources.length && problems.length === 0) {
    problems.push(
      `the child stopped after ${done.size} of ${sources.length} cases: ${child.stderr}`,
    );
  }
  return problems;
}

// ---- counterexamples the fuzzing found, shrunk, replayed by name --------------------------

/** Runs `expression` (with `nk`, the package) in a child: an empty result or a proper error, within 2 s. */
function expectEmptyOrInvalidInChild(expression: string): void {
  const problems = runHugeZeroSource(expression);
  expect(problems, problems.join('\n')).to.deep.equal([]);
}

describe('fuzz regressions (shrunk counterexamples)', () => {
  it("tensor(BigInt64Array, shape): a TypeError naming values, not the engine's BigInt conversion error", () => {
    expect(checkTensorRecipe({ shape: [1], values: 'BigInt64Array', bad: null })).to.deep.equal([]);
  });

  it('loadStateDict rejects num_batches_tracked past 2^53 (2**53 + 2, 1e308), which forward would then refuse', async () => {
    for (const counter of ['2**53+2', '1e308'] as const) {
      for (const module of ['BatchNorm1d', 'InstanceNorm1d']) {
        const r: ModuleRecipe = {
          module,
          features: [1],
          groups: 0,
          ctorOptions: { trackRunningStats: 0 },
          ctorBad: null,
          steps: [{ do: 'load', seed: 0, bad: { counter } }],
        };
        expect(await checkModuleRecipe(r, {}), `${module}, ${counter}`).to.deep.equal([]);
      }
    }
  });

  it('GroupNorm.forward on an input of the wrong channel count names input.shape, not its own weight', async () => {
    const r: ModuleRecipe = {
      module: 'GroupNorm',
      features: [1],
      groups: 0,
      ctorOptions: {},
      ctorBad: null,
      steps: [
        {
          do: 'forward',
          async: false,
          lead: [],
          kind: 'normal',
          seed: 1105538851,
          out: 0,
          bad: null,
        },
      ],
    };
    expect(await checkModuleRecipe(r, {})).to.deep.equal([]);
  });

  it('reference.addRmsNorm and addLayerNorm take a detached (zero-length) sumOut for a zero-size input', async () => {
    for (const op of ['addRmsNorm', 'addLayerNorm']) {
      const keys = Object.keys(OPS[op].options);
      const r: OpRecipe = {
        op,
        api: 'reference',
        async: false,
        shape: [0, 1],
        axes: 2,
        asNumber: false,
        groups: 0,
        kind: 'normal',
        seed: 0,
        given: [],
        storage: {},
        bools: {},
        layout: undefined,
        eps: undefined,
        numbers: {},
        alias: null,
        signal: 'none',
        mutation: {
          at: 'option',
          which: keys.indexOf('sumOut'),
          bad: BAD_ARRAYS.indexOf('detached'),
        },
      };
      expect(await checkOpRecipe(r), op).to.deep.equal([]);
    }
  });

  it('describeGroupNorm with numGroups past 2^53 over zero channels: exact statistics or a RangeError', () => {
    for (const groups of [2 ** 53 + 2, 3]) {
      const shape = groups === 3 ? [2 ** 52, 0] : [1, 0, 9];
      let result: { statistics: number } | undefined;
      try {
        result = normkit.describeGroupNorm(shape, groups);
      } catch (e) {
        expect(judgeError(e, { kind: 'loose' }, new Set(['shape', 'numGroups']))).to.deep.equal([]);
      }
      if (result) expect(result.statistics, `[${shape}], ${groups} groups`).to.be.at.most(2 ** 53);
    }
  });

  describe('zero-size tensors with huge dimensions (child process)', function () {
    this.timeout(30000);
    for (const expression of [
      // std::bad_alloc (abort) allocating per-channel scratch for 2^40 channels of nothing.
      'nk.batchNorm({ data: new Float32Array(0), shape: [0, 2 ** 40] }, { training: true })',
      'nk.batchNorm({ data: new Float32Array(0), shape: [1, 2 ** 52, 0, 1] }, { training: true })',
      // Seconds of work for 2^31 channels of nothing.
      'nk.batchNorm({ data: new Float32Array(0), shape: [0, 2 ** 31] }, { training: true })',
      // The reference loops over 2^40 (2^52) empty rows.
      'nk.reference.layerNorm({ data: new Float32Array(0), shape: [2 ** 40, 0] }, [0])',
      'nk.reference.rmsNorm({ data: new Float32Array(0), shape: [1, 2 ** 52, 0, 1] }, [0, 1])',
      'nk.reference.addLayerNorm({ data: new Float32Array(0), shape: [2 ** 40, 0] }, { data: new Float32Array(0), shape: [2 ** 40, 0] }, [0])',
      "nk.reference.groupNorm({ data: new Float32Array(0), shape: [1, 0, 2 ** 31] }, 2 ** 40, { layout: 'channels_last' })",
      // The engine's "Invalid typed array length" for 2^51 saved statistics of nothing.
      "nk.reference.instanceNorm({ data: new Float32Array(0), shape: [2 ** 20, 2 ** 31, 0] }, { layout: 'channels_last' })",
    ]) {
      it(expression, () => expectEmptyOrInvalidInChild(expression));
    }
  });
});
