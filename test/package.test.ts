// The package as users get it: CommonJS and ESM entry points through package.json exports, the
// type declarations, and the fallback to the reference backend when the addon cannot load.
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import * as normkit from 'normkit';
import { childScript, parseReport, REPO_ROOT, runNode } from './helpers/tensors';

const PUBLIC_NAMES = [
  'BatchNorm1d',
  'BatchNorm2d',
  'BatchNorm3d',
  'BatchNormBase',
  'LayerNorm',
  'backend',
  'batchNorm',
  'describeBatchNorm',
  'describeLayerNorm',
  'getNumThreads',
  'layerNorm',
  'native',
  'numel',
  'reference',
  'setNumThreads',
  'tensor',
];

// tsc turns import() into require() in CommonJS output; a Function body keeps the real one.
const dynamicImport = new Function('specifier', 'return import(specifier)') as (
  s: string,
) => Promise<Record<string, unknown>>;

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  main: string;
  types: string;
  exports: Record<string, Record<string, string> | string>;
};

describe('package', () => {
  it('require("normkit") gives the public API', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const cjs = require('normkit') as Record<string, unknown>;
    expect(Object.keys(cjs).sort()).to.deep.equal(PUBLIC_NAMES);
    expect(cjs.layerNorm).to.equal(normkit.layerNorm);
    expect(['native', 'js']).to.include(cjs.backend);
  });

  it('import("normkit") gives the same names and the same functions', async () => {
    const esm = await dynamicImport('normkit');
    expect(
      Object.keys(esm)
        .filter((k) => k !== 'default')
        .sort(),
    ).to.deep.equal(PUBLIC_NAMES);
    for (const name of PUBLIC_NAMES)
      expect(esm[name], name).to.equal((normkit as Record<string, unknown>)[name]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(esm.default).to.equal(require('normkit'));
  });

  it('works from an ES module program run in the package root', () => {
    const script = [
      "import { layerNorm, batchNorm, backend, reference } from 'normkit';",
      "import * as all from 'normkit';",
      'const y = layerNorm({ data: new Float32Array([1, 3, 5, 7]), shape: [2, 2] }, [2]);',
      'const b = batchNorm({ data: new Float32Array([1, 3]), shape: [2, 1] }, { training: true });',
      'console.log(JSON.stringify({ backend, y: Array.from(y.data), b: Array.from(b.data), ref: typeof reference.layerNorm,',
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
      ref: string;
      names: string[];
    };
    expect(out.backend).to.equal(normkit.backend);
    expect(out.ref).to.equal('function');
    expect(out.names).to.deep.equal(PUBLIC_NAMES);
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
    const root = pkg.exports['.'] as Record<string, string>;
    for (const file of [pkg.main, pkg.types, root.types, root.import, root.require]) {
      expect(fs.existsSync(path.join(REPO_ROOT, file)), file).to.equal(true);
    }
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

    it('dist/index.d.ts declares the public API', () => {
      const index = dts('index.d.ts');
      for (const name of [
        'layerNorm',
        'describeLayerNorm',
        'LayerNorm',
        'batchNorm',
        'describeBatchNorm',
        'BatchNorm1d',
        'BatchNorm2d',
        'BatchNorm3d',
        'setNumThreads',
        'getNumThreads',
        'backend',
      ]) {
        expect(index, name).to.match(new RegExp(`export \\{[^}]*\\b${name}\\b[^}]*\\} from`));
      }
      for (const name of [
        'Tensor',
        'LayerNormOptions',
        'BatchNormOptions',
        'Layout',
        'NormDescription',
      ]) {
        expect(index, name).to.match(new RegExp(`export type \\{[^}]*\\b${name}\\b`));
      }
      expect(index).to.match(
        /export declare const reference: Readonly<\{\s*layerNorm: typeof referenceLayerNorm;\s*batchNorm: typeof referenceBatchNorm;/,
      );
      expect(dts('layer-norm.d.ts')).to.match(
        /export declare function layerNorm\(input: Tensor, normalizedShape: number \| readonly number\[\], options\?: LayerNormOptions\): Tensor;/,
      );
      expect(dts('layer-norm.d.ts')).to.match(/export declare class LayerNorm\b/);
      expect(dts('batch-norm.d.ts')).to.match(
        /export declare function batchNorm\(input: Tensor, options\?: BatchNormOptions\): Tensor;/,
      );
      expect(dts('batch-norm.d.ts')).to.match(
        /export declare class BatchNorm2d extends BatchNormBase/,
      );
      expect(dts('tensor.d.ts')).to.match(/data: Float32Array;\s*shape: readonly number\[\];/);
    });

    it('type-check a consumer: right calls compile, wrong ones do not', function () {
      this.timeout(30000);
      const dir = path.join(REPO_ROOT, 'build-test', 'typecheck-consumer');
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'consumer.ts'),
        [
          "import { layerNorm, batchNorm, LayerNorm, BatchNorm2d, describeBatchNorm, reference, type Tensor, type NormDescription } from 'normkit';",
          'const x: Tensor = { data: new Float32Array(8), shape: [2, 4] };',
          'const y: Tensor = layerNorm(x, [4], { weight: new Float32Array(4), eps: 1e-5 });',
          "const z: Tensor = batchNorm(x, { training: true, layout: 'channels_last', momentum: 0.1 });",
          'const d: NormDescription = describeBatchNorm([2, 3, 4, 4]);',
          'const r: Tensor = reference.layerNorm(x, 4);',
          'const bn: BatchNorm2d = new BatchNorm2d(3, { momentum: null }).eval();',
          'const n: number = bn.numBatchesTracked;',
          'const ln = new LayerNorm(4, { elementwiseAffine: false });',
          'const w: Float32Array | null = ln.weight;',
          '// @ts-expect-error normalizedShape is a number or an array of numbers',
          "layerNorm(x, '4');",
          '// @ts-expect-error data must be a Float32Array',
          'layerNorm({ data: new Float64Array(8), shape: [2, 4] }, 4);',
          '// @ts-expect-error layout is a union of two strings',
          "batchNorm(x, { layout: 'nhwc' });",
          '// @ts-expect-error no such option',
          'batchNorm(x, { running_mean: new Float32Array(4) });',
          'export const all = [y, z, d, r, n, w];',
        ].join('\n'),
      );
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
    // Makes require('bindings') throw in the child, as a missing or broken build would.
    const breakBindings = [
      "const Module = require('module');",
      'const load = Module._load;',
      'Module._load = function (request, ...rest) {',
      "  if (request === 'bindings') throw new Error('simulated: no compiled addon here');",
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
