// The package as users get it: CommonJS and ESM entry points through package.json exports, the
// type declarations, and the fallback to the reference backend when the addon cannot load.
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import * as normkit from 'normkit';
import { kebab, OP_LIST, pascal } from './helpers/ops';
import { childScript, parseReport, REPO_ROOT, runNode } from './helpers/tensors';

// tsc turns import() into require() in CommonJS output; a Function body keeps the real one.
const dynamicImport = new Function('specifier', 'return import(specifier)') as (
  s: string,
) => Promise<Record<string, unknown>>;

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  main: string;
  types: string;
  exports: Record<string, unknown>;
};

/** The exports that belong to no op: tensors, backend, threads, diagnostics. */
const CORE_NAMES = [
  'addonError',
  'backend',
  'getNumThreads',
  'maxThreads',
  'native',
  'numel',
  'reference',
  'setNumThreads',
  'tensor',
];
// Each op: its function, its async twin and its describe function.
const OP_NAMES = OP_LIST.flatMap((op) => [
  op.name,
  `${op.name}Async`,
  `describe${pascal(op.name)}`,
]);

/**
 * A TypeScript program using the package's types: for every op, from its descriptor, a call with
 * every option (right types compile, the result typed as the op's results), each option with a
 * wrong type (must not compile), an unknown option, a wrong tensor, its describe function and its
 * reference twin; then the module classes by hand.
 */
function consumerSource(): string {
  const good: Record<string, string> = {
    array: 'new Float32Array(4)',
    eps: '1e-5',
    number: '0.1',
    bool: 'true',
    layout: "'channels_last'",
  };
  const bad: Record<string, string> = {
    array: 'new Float64Array(4)',
    eps: "'1e-5'",
    number: "'0.1'",
    bool: "'yes'",
    layout: "'nhwc'",
  };
  const lines = [
    "import * as nk from 'normkit';",
    "import { LayerNorm, BatchNorm2d, GroupNorm, RMSNorm, InstanceNorm2d, type Tensor, type NormDescription } from 'normkit';",
    'const x: Tensor = { data: new Float32Array(24), shape: [2, 3, 4] };',
    'const wrong = { data: new Float64Array(24), shape: [2, 3, 4] };',
    'const keep: unknown[] = [];',
  ];
  for (const op of OP_LIST) {
    const P = pascal(op.name);
    const args = (options: string, change: Partial<Record<string, string>> = {}) =>
      op.params
        .map((p) => {
          const key = p.kind === 'tensor' || p.kind === 'count' ? p.name : p.kind;
          if (change[key] !== undefined) return change[key];
          if (p.kind === 'tensor') return 'x';
          if (p.kind === 'normalizedShape') return '[4]';
          if (p.kind === 'count') return '1';
          return options;
        })
        .join(', ');
    const entries = Object.entries(op.options);
    const all = `{ ${entries.map(([k, o]) => `${k}: ${good[o.kind]}`).join(', ')} }`;
    const resultType =
      typeof op.results === 'string'
        ? 'Tensor'
        : `{ ${Object.keys(op.results)
            .map((k) => `${k}: Tensor`)
            .join('; ')} }`;
    lines.push(`keep.push(nk.${op.name}(${args(all)}) satisfies ${resultType});`);
    lines.push(`keep.push(nk.${op.name}(${args('{}')}), nk.${op.name}(${args('undefined')}));`);
    for (const [k, o] of entries) {
      lines.push(`// @ts-expect-error ${op.name}: ${k} is not ${bad[o.kind]}`);
      lines.push(`nk.${op.name}(${args(`{ ${k}: ${bad[o.kind]} }`)});`);
      if (o.kind === 'eps') {
        if (!o.nullable) lines.push(`// @ts-expect-error ${op.name}: eps is not nullable`);
        lines.push(`nk.${op.name}(${args(`{ ${k}: null }`)});`);
      }
    }
    lines.push(`// @ts-expect-error ${op.name}: no such option`);
    lines.push(`nk.${op.name}(${args('{ running_mean: new Float32Array(4) }')});`);
    for (const p of op.params) {
      if (p.kind === 'options') continue;
      const key = p.kind === 'tensor' || p.kind === 'count' ? p.name : p.kind;
      const value = p.kind === 'tensor' ? 'wrong' : "'4'";
      const what = p.kind === 'tensor' ? 'a tensor of Float64Array' : 'a string';
      lines.push(`// @ts-expect-error ${op.name}: ${key} is not ${what}`);
      lines.push(`nk.${op.name}(${args('{}', { [key]: value })});`);
    }
    const describeArgs = [
      '[2, 3, 4]',
      ...op.params.flatMap((p) =>
        p.kind === 'normalizedShape' ? ['[4]'] : p.kind === 'count' ? ['1'] : [],
      ),
    ];
    lines.push(`keep.push(nk.describe${P}(${describeArgs.join(', ')}) satisfies NormDescription);`);
    lines.push(`keep.push(nk.reference.${op.name} satisfies typeof nk.${op.name});`);
  }
  lines.push(
    'const bn: BatchNorm2d = new BatchNorm2d(3, { momentum: null }).eval();',
    'const n: number = bn.numBatchesTracked;',
    'const ln = new LayerNorm(4, { elementwiseAffine: false });',
    'const w: Float32Array | null = ln.weight;',
    'const gn = new GroupNorm(1, 3);',
    'const rms = new RMSNorm([4], { eps: null });',
    'const inorm = new InstanceNorm2d(3, { affine: true, trackRunningStats: true });',
    'keep.push(gn.forward(x) satisfies Tensor, rms.forward(x), inorm.train().forward(x), n, w);',
    '// @ts-expect-error GroupNorm takes numGroups and numChannels',
    'new GroupNorm(2);',
    '// @ts-expect-error layout is a union of two strings',
    "new BatchNorm2d(3, { layout: 'nhwc' });",
    // simdPath() is the union of the tiers, exported as SimdTier.
    'const tier: nk.SimdTier | undefined = nk.native?.simdPath();',
    "const tiers: nk.SimdTier[] = ['avx512', 'avx2', 'baseline', 'neon'];",
    '// @ts-expect-error not a tier',
    "const notTier: nk.SimdTier = 'sse4';",
    // State dicts: each variant's keys are required; a partial dict is not one.
    'const full: nk.BatchNormStateDict = bn.stateDict();',
    'if (full.running_mean) keep.push(full.running_mean satisfies Float32Array);',
    'const lnState: nk.LayerNormStateDict = { weight: new Float32Array(4), bias: new Float32Array(4) };',
    'ln.loadStateDict(lnState);',
    'ln.loadStateDict({});',
    '// @ts-expect-error a bias without a weight is no LayerNorm state',
    'ln.loadStateDict({ bias: new Float32Array(4) });',
    '// @ts-expect-error running_mean without running_var and num_batches_tracked',
    'bn.loadStateDict({ weight: new Float32Array(3), bias: new Float32Array(3), running_mean: new Float32Array(3) });',
    'const gnState: nk.GroupNormStateDict = gn.stateDict();',
    'const rmsState: nk.RMSNormStateDict = rms.stateDict();',
    'const inState: nk.InstanceNormStateDict = inorm.stateDict();',
    'keep.push(tier, tiers, notTier, gnState, rmsState, inState);',
    'export { keep };',
  );
  return lines.join('\n') + '\n';
}

describe('package', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cjs = () => require('normkit') as Record<string, unknown>;

  it('require("normkit") exports every op, its describe function, the core names and classes', () => {
    const exports = cjs();
    expect(exports.layerNorm).to.equal(normkit.layerNorm);
    for (const name of OP_NAMES) expect(exports[name], name).to.be.a('function');
    for (const name of CORE_NAMES) expect(exports, name).to.have.property(name);
    // Anything else is a module class (LayerNorm, BatchNorm2d, ...): a PascalCase constructor.
    for (const name of Object.keys(exports)) {
      if (OP_NAMES.includes(name) || CORE_NAMES.includes(name)) continue;
      expect(name, `${name} is neither an op, a core name nor a class`).to.match(/^[A-Z]/);
      expect(exports[name], name).to.be.a('function');
      expect((exports[name] as { prototype?: unknown }).prototype, name).to.be.an('object');
    }
    expect(['native', 'js']).to.include(exports.backend);
  });

  it('require("normkit") is a frozen table of data properties: no getter runs on `normkit.op(...)`', () => {
    const exports = cjs();
    expect(Object.isFrozen(exports)).to.equal(true);
    for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(exports))) {
      expect(d, name).to.have.property('value');
      expect(d.get, name).to.equal(undefined);
    }
    // TypeScript's CommonJS interop (`import * as normkit from 'normkit'`) takes it as it is.
    expect((exports as { __esModule?: boolean }).__esModule).to.equal(true);
    expect(Object.keys(exports)).to.not.include('__esModule');
  });

  it('reference has exactly one function per op, the same API on the reference backend', () => {
    const ref = normkit.reference as unknown as Record<string, unknown>;
    expect(Object.keys(ref).sort()).to.deep.equal(OP_LIST.map((op) => op.name).sort());
    for (const op of OP_LIST) expect(ref[op.name], op.name).to.be.a('function');
    expect(Object.isFrozen(ref)).to.equal(true);
  });

  it('import("normkit") gives the CommonJS names and the same values', async () => {
    const esm = await dynamicImport('normkit');
    const names = Object.keys(cjs()).sort();
    expect(
      Object.keys(esm)
        .filter((k) => k !== 'default')
        .sort(),
    ).to.deep.equal(names);
    for (const name of names) expect(esm[name], name).to.equal(cjs()[name]);
    expect(esm.default).to.equal(cjs());
  });

  it('works from an ES module program run in the package root', () => {
    const script = [
      "import { layerNorm, batchNorm, backend, reference } from 'normkit';",
      "import * as all from 'normkit';",
      'const y = layerNorm({ data: new Float32Array([1, 3, 5, 7]), shape: [2, 2] }, [2]);',
      'const b = batchNorm({ data: new Float32Array([1, 3]), shape: [2, 1] }, { training: true });',
      'console.log(JSON.stringify({ backend, y: Array.from(y.data), b: Array.from(b.data),',
      "  ref: Object.keys(reference).filter((k) => typeof reference[k] === 'function').sort(),",
      "  names: Object.keys(all).filter((k) => k !== 'default').sort() }));",
    ].join('\n');
    // Same backend choice as this process, so the two must agree.
    const r = runNode(['--input-type=module', '-e', script], {
      NORMKIT_BACKEND: process.env.NORMKIT_BACKEND,
    });
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as {
      backend: string;
      y: number[];
      b: number[];
      ref: string[];
      names: string[];
    };
    expect(out.backend).to.equal(normkit.backend);
    expect(out.ref).to.deep.equal(OP_LIST.map((op) => op.name).sort());
    expect(out.names).to.deep.equal(Object.keys(cjs()).sort());
    const v = 1 / Math.sqrt(1 + 1e-5);
    for (const [got, want] of [
      [out.y, [-v, v, -v, v]],
      [out.b, [-v, v]],
    ]) {
      got.forEach((g, i) => expect(g).to.be.closeTo(want[i], 1e-6));
    }
  });

  it('exposes only its entry points through package.json exports', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect((require('normkit/package.json') as { name: string }).name).to.equal('normkit');
    expect(() => require('normkit/dist/validate.js')).to.throw(
      /ERR_PACKAGE_PATH_NOT_EXPORTED|not defined by "exports"/,
    );
    // Each condition's types and code: ESM declarations for import, CommonJS ones for require.
    const root = pkg.exports['.'] as Record<string, Record<string, string>>;
    const files = [pkg.main, pkg.types];
    for (const condition of ['import', 'require']) {
      expect(Object.keys(root[condition]), condition).to.deep.equal(['types', 'default']);
      files.push(root[condition].types, root[condition].default);
    }
    for (const file of files) {
      expect(fs.existsSync(path.join(REPO_ROOT, file)), file).to.equal(true);
    }
  });

  it('native.simdPath() reports one of the SimdTier values', () => {
    if (!normkit.native) return;
    expect(['avx512', 'avx2', 'baseline', 'neon']).to.include(normkit.native.simdPath());
  });

  it('exports the tensor and numel helpers', () => {
    const t = normkit.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.data).to.be.instanceOf(Float32Array);
    expect(Array.from(t.data)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(t.shape).to.deep.equal([2, 3]);
    const data = new Float32Array(4);
    const shape = [4];
    const u = normkit.tensor(data, shape);
    expect(u.data).to.equal(data);
    expect(u.shape).to.not.equal(shape);
    expect(normkit.numel([2, 3, 4])).to.equal(24);
    expect(normkit.numel([])).to.equal(1);
    expect(normkit.numel([5, 0])).to.equal(0);
    expect(normkit.layerNorm(t, 3).shape).to.deep.equal([2, 3]);
  });

  describe('type declarations', () => {
    const dts = (file: string) => fs.readFileSync(path.join(REPO_ROOT, 'dist', file), 'utf8');

    it('dist/index.d.ts re-exports every op file through the generated barrel', () => {
      const index = dts('index.d.ts');
      expect(index).to.match(/^export \* from '\.\/api';$/m);
      const api = dts('api.d.ts');
      for (const op of OP_LIST) {
        expect(api, op.name).to.match(
          new RegExp(`^export \\* from '\\./${kebab(op.name)}';$`, 'm'),
        );
      }
      for (const name of ['setNumThreads', 'getNumThreads']) {
        expect(index, name).to.match(new RegExp(`export \\{[^}]*\\b${name}\\b[^}]*\\} from`));
      }
      expect(index).to.match(/export \{[^}]*\bbackend\b[^}]*\} from/);
      for (const name of ['Tensor', 'Layout', 'NormDescription']) {
        expect(index, name).to.match(new RegExp(`export type \\{[^}]*\\b${name}\\b`));
      }
      // One reference function per op, typed as the op's own function.
      expect(index).to.match(/export declare const reference: ReferenceApi;/);
      expect(index).to.match(/\[K in keyof Ops & keyof typeof api\]: \(typeof api\)\[K\]/);
      // The two fields, each with its TSDoc comment.
      expect(dts('tensor.d.ts')).to.match(
        /data: Float32Array;\s*(\/\*\*(?:[^*]|\*(?!\/))*\*\/\s*)?shape: readonly number\[\];/,
      );
    });

    for (const op of OP_LIST) {
      const file = `${kebab(op.name)}.d.ts`;
      it(`dist/${file} declares ${op.name}, describe${pascal(op.name)} and ${pascal(op.name)}Options`, () => {
        const text = dts(file);
        const P = pascal(op.name);
        expect(text).to.match(
          new RegExp(`export declare function ${op.name}\\([^)]*options\\?: ${P}Options\\): \\w+;`),
        );
        expect(text).to.match(
          new RegExp(
            `export declare function describe${P}\\(shape: readonly number\\[\\][^)]*\\): NormDescription;`,
          ),
        );
        expect(text).to.match(new RegExp(`export interface ${P}Options \\{`));
        // Every option the descriptor declares is documented in the options type.
        const body = text.slice(text.indexOf(`export interface ${P}Options {`));
        const fields = body.slice(0, body.indexOf('\n}'));
        for (const key of Object.keys(op.options)) {
          expect(fields, `${P}Options.${key}`).to.match(new RegExp(`\\n\\s+${key}\\?:`));
        }
      });
    }

    it('type-check a consumer: right calls compile, wrong ones do not', function () {
      this.timeout(30000);
      const dir = path.join(REPO_ROOT, 'build-test', 'typecheck-consumer');
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'consumer.ts'), consumerSource());
      fs.writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'nodenext',
            moduleResolution: 'nodenext',
            strict: true,
            noEmit: true,
            types: [],
            skipLibCheck: false,
          },
          files: ['consumer.ts'],
        }),
      );
      const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const r = runNode([tsc, '-p', dir]);
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });

  describe('when the addon cannot be loaded', () => {
    // Makes the loader (node-gyp-build) throw in the child, as a missing or broken build would.
    const breakBindings = [
      "const Module = require('module');",
      'const load = Module._load;',
      'Module._load = function (request, ...rest) {',
      "  if (request === 'node-gyp-build') throw new Error('simulated: no compiled addon here');",
      '  return load.call(this, request, ...rest);',
      '};',
    ].join('\n');
    const body = [
      'const y = nk.layerNorm({ data: new Float32Array([1, 2, 3, 4, 5, 9]), shape: [2, 3] }, 3, { bias: new Float32Array([1, 1, 1]) });',
      'const again = require(' + JSON.stringify(REPO_ROOT) + ');',
      'result = { backend: nk.backend, native: nk.native, threads: nk.getNumThreads(), y: Array.from(y.data), same: again === nk };',
    ].join('\n');

    it('falls back to the reference backend with exactly one warning that says why', () => {
      const r = runNode(['-e', childScript(body, breakBindings)]);
      const report = parseReport<{
        backend: string;
        native: unknown;
        threads: number;
        y: number[];
        same: boolean;
      }>(r);
      expect(report.result.backend).to.equal('js');
      expect(report.result.native).to.equal(null);
      expect(report.result.threads).to.equal(1);
      expect(report.result.same).to.equal(true);
      expect(report.warnings).to.have.length(1);
      const [w] = report.warnings;
      expect(w.code).to.equal('NORMKIT_NATIVE_UNAVAILABLE');
      expect(w.message).to.contain('could not be loaded');
      expect(w.message).to.contain('simulated: no compiled addon here');
      expect(w.message).to.contain('reference backend');
      expect(r.stderr.match(/could not be loaded/g)).to.have.length(1);
      // Rows [1, 2, 3] and [4, 5, 9]: layer norm plus a bias of 1.
      const a = 1 / Math.sqrt(2 / 3 + 1e-5);
      const b = Math.sqrt(14 / 3 + 1e-5);
      const want = [1 - a, 1, 1 + a, 1 - 2 / b, 1 - 1 / b, 1 + 3 / b];
      report.result.y.forEach((g, i) => expect(g).to.be.closeTo(want[i], 1e-6));
    });

    it('still validates arguments and still takes setNumThreads', () => {
      const check = [
        'let error = null;',
        "try { nk.batchNorm({ data: new Float32Array(4), shape: [2, 2] }); } catch (e) { error = e.constructor.name + ': ' + e.message; }",
        'nk.setNumThreads(2);',
        'result = { error, threads: nk.getNumThreads() };',
      ].join('\n');
      const report = parseReport<{ error: string; threads: number }>(
        runNode(['-e', childScript(check, breakBindings)]),
      );
      expect(report.result.error).to.match(
        /^RangeError: Expected .+ for runningMean and runningVar, but received/,
      );
      expect(report.result.threads).to.equal(1);
    });

    it('with NORMKIT_BACKEND=native throws instead of falling back', () => {
      const r = runNode(['-e', childScript('result = nk.backend;', breakBindings)], {
        NORMKIT_BACKEND: 'native',
      });
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.contain('NORMKIT_BACKEND=native');
      expect(r.stderr).to.contain('simulated: no compiled addon here');
    });
  });
});
