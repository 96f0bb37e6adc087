// What scripts/gen-ops.js derives from the op descriptors (the registry, the public barrel, the
// ES module entry and the C++ binding's table) is up to date, the checker itself notices a stale
// file, and the descriptors are consistent enough for the generator to trust them.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expect } from 'chai';
import { isArrayArg, kebab, OP_LIST, OPS } from './helpers/ops';
import { REPO_ROOT, runNode } from './helpers/tensors';

const GENERATED = [
  'lib/ops/index.ts',
  'lib/api.ts',
  'esm/index.mjs',
  'native/binding/ops.gen.h',
  'native/kernels/ops.gen.h',
  'bench/native/cases.gen.h',
] as const;

describe('generated files (scripts/gen-ops.js)', function () {
  this.timeout(30000);

  it('`node scripts/gen-ops.js --check` exits 0: every generated file is up to date', () => {
    const r = runNode(['scripts/gen-ops.js', '--check'], { NORMKIT_BACKEND: 'js' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.not.match(/stale/);
  });

  describe('the checker, on a copy of the sources', () => {
    let dir = '';
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'normkit-gen-'));
      for (const part of ['scripts/gen-ops.js', 'bench/cases.js', 'lib', 'dist', ...GENERATED]) {
        fs.cpSync(path.join(REPO_ROOT, part), path.join(dir, part), { recursive: true });
      }
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const check = () =>
      runNode([path.join(dir, 'scripts/gen-ops.js'), '--check'], { NORMKIT_BACKEND: 'js' });

    it('passes on the unchanged copy', () => {
      const r = check();
      expect(r.status, r.stderr).to.equal(0);
    });

    for (const file of GENERATED) {
      it(`exits 1 naming ${file} when it is stale, and writes nothing`, () => {
        const full = path.join(dir, file);
        const original = fs.readFileSync(full, 'utf8');
        const stale = original + '\n// edited by hand\n';
        fs.writeFileSync(full, stale);
        try {
          const r = check();
          expect(r.status).to.equal(1);
          expect(r.stderr).to.contain(`gen-ops: ${file} is stale`);
          expect(fs.readFileSync(full, 'utf8')).to.equal(stale);
        } finally {
          fs.writeFileSync(full, original);
        }
      });
    }
  });

  describe('the descriptors', () => {
    it('are registered under their public names, one file each', () => {
      for (const [key, op] of Object.entries(OPS)) {
        expect(op.name, key).to.equal(key);
        expect(fs.existsSync(path.join(REPO_ROOT, 'lib/ops', `${kebab(key)}.ts`)), key).to.equal(
          true,
        );
        expect(fs.existsSync(path.join(REPO_ROOT, 'lib', `${kebab(key)}.ts`)), key).to.equal(true);
      }
      const kernels = OP_LIST.map((op) => op.kernel);
      expect(new Set(kernels).size, 'kernel names are unique').to.equal(kernels.length);
      const conformance = OP_LIST.flatMap((op) => (op.conformance ? [op.conformance] : []));
      expect(new Set(conformance).size, 'conformance names are unique').to.equal(
        conformance.length,
      );
    });

    for (const op of OP_LIST) {
      it(`${op.name}: arguments, options and results refer to what exists`, () => {
        const names = op.args.map((a) => a.name);
        expect(new Set(names).size, 'argument names are unique').to.equal(names.length);
        const byName = new Map(op.args.map((a) => [a.name, a]));
        for (const a of op.args) {
          const where = `${op.name}.${a.name}`;
          if (isArrayArg(a)) {
            expect(a.length, `${where}.length`).to.be.an('array').that.is.not.empty;
            expect(a.length!.length, `${where}: the binding holds 3 sizes`).to.be.at.most(3);
            for (const s of a.length!)
              expect(byName.get(s)?.kind, `${where} length ${s}`).to.equal('size');
          } else {
            expect(a.length, `${where}.length`).to.equal(undefined);
          }
          for (const other of a.inPlace ?? []) {
            expect(['output', 'saved', 'state'], `${where} is written`).to.include(a.role);
            expect(byName.get(other)?.role, `${where} in place with ${other}`).to.equal('input');
          }
          expect(a.role === 'state', `${where}: writtenWhen exactly for states`).to.equal(
            a.writtenWhen !== undefined,
          );
          if (a.writtenWhen) expect(byName.get(a.writtenWhen)?.kind, where).to.equal('bool');
          if (a.role === 'input' || a.role === 'output') expect(a.kind, where).to.equal('f32');
        }
        expect(op.args.length, 'the binding holds 16 arguments').to.be.at.most(16);
        for (const [key, spec] of Object.entries(op.options)) {
          expect(byName.has(spec.arg), `option ${key} -> ${spec.arg}`).to.equal(true);
        }
        // Every argument comes from somewhere: a tensor, a size, an option, or a saved statistic.
        const tensors = op.params.flatMap((p) => (p.kind === 'tensor' ? [p.name] : []));
        const fromOptions = Object.values(op.options).map((o) => o.arg);
        for (const a of op.args) {
          const sourced =
            (a.role === 'input' && tensors.includes(a.name)) ||
            a.role === 'size' ||
            a.role === 'saved' ||
            fromOptions.includes(a.name);
          expect(sourced, `${op.name}.${a.name} has no source`).to.equal(true);
        }
        const results = typeof op.results === 'string' ? [op.results] : Object.values(op.results);
        for (const r of results) expect(byName.get(r)?.role, `result ${r}`).to.equal('output');
        expect(op.reference, 'reference kernel').to.be.a('function');
        expect(op.reference.length, 'reference takes every argument').to.equal(op.args.length);
      });
    }
  });

  // What every op goes through names none of them: a new op is its own files, the generated ones
  // and its docs (docs/architecture.md, "Adding an op"). Comments may use an op as an example.
  describe('the shared files', () => {
    const stripComments = (t: string) =>
      t
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
        .replace(/^\s*#(?!include|define|if|else|endif|pragma|undef|error|elif).*$/gm, '');
    const listed = (dir: string, test: (f: string) => boolean) =>
      fs
        .readdirSync(path.join(REPO_ROOT, dir))
        .filter(test)
        .map((f) => `${dir}/${f}`);
    const SHARED = [
      'native/addon.cc',
      'native/kernels/ops.h',
      'native/kernels/table.h',
      'native/kernels/table.cc',
      'native/kernels/dispatch.cc',
      ...listed('native/binding', (f) => !f.includes('.gen.')),
      'native/sources.js',
      'binding.gyp',
      'lib/backend.ts',
      'lib/compile.ts',
      'lib/validate.ts',
      'lib/async.ts',
      'lib/reference/index.ts',
      'bench/cases.js',
      'bench/ab.js',
      'bench/native/scaling.cc',
      'test/native/harness.h',
      'test/native/harness.cc',
      'test/native/main.cc',
      ...listed('scripts', (f) => /\.(js|sh|cc)$/.test(f)),
    ];
    for (const file of SHARED) {
      it(`${file} names no op`, () => {
        const text = stripComments(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8'));
        for (const op of OP_LIST) {
          const snakeName = op.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
          for (const name of [op.name, op.kernel, op.cxx, kebab(op.name), snakeName]) {
            expect(new RegExp(`\\b${name}\\b`).test(text), `${file} names ${name}`).to.equal(false);
          }
        }
      });
    }
  });
});
