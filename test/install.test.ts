// The package as a dependent installs it: `npm pack`, then the tarball installed into fresh
// projects (from npm's cache where it has the dependency, else the registry: --prefer-offline,
// since `npm ci` caches tarballs but not the registry metadata an install resolves from), with
// install scripts ignored, refused (--strict-allow-scripts) and allowed.
// Each install must run no script and load the native backend, from require and from import,
// without a warning; TypeScript must see ESM types from import and CommonJS types from require;
// are-the-types-wrong and publint --strict must find nothing. Then the loader's fallback: the
// warning's reason and fix, and NORMKIT_REQUIRE_NATIVE=1.
import { spawnSync, type SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expect } from 'chai';
import { childScript, parseReport, REPO_ROOT, runNode } from './helpers/tensors';

// tsc turns import() into require() in CommonJS output; a Function body keeps the real one.
const dynamicImport = new Function('specifier', 'return import(specifier)') as (
  s: string,
) => Promise<Record<string, unknown>>;

/** How to run npm: the CLI running `npm test`, else `npm` from PATH, else null. */
function findNpm(): string[] | null {
  const cli = process.env.npm_execpath;
  if (cli && /npm-cli\.js$/.test(cli)) return [process.execPath, cli];
  const r = spawnSync('npm', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? ['npm'] : null;
}

/**
 * How to run pnpm 10 or later: `pnpm` from PATH, else pnpm 10 from npm's cache (`npm exec
 * --offline`: put it there once with `npx --yes pnpm@10 --version`), else null.
 */
function findPnpm(npm: string[] | null): string[] | null {
  const candidates: string[][] = [['pnpm']];
  if (npm)
    candidates.push([...npm, 'exec', '--yes', '--offline', '--package=pnpm@10', '--', 'pnpm']);
  for (const command of candidates) {
    const [file, ...args] = command;
    const r = spawnSync(file, [...args, '--version'], { encoding: 'utf8', timeout: 60000 });
    const major = Number(/^(\d+)\./.exec((r.stdout ?? '').trim().split('\n').pop() ?? '')?.[1]);
    if (r.status === 0 && major >= 10) return command;
  }
  return null;
}

const NPM = findNpm();
const PNPM = findPnpm(NPM);
/** The bound on a plain `npm install` of the tarball into a fresh project. */
const PLAIN_INSTALL_MS = 8000;
const PLATFORM = `${process.platform}-${process.arch}`;
const BUILT = path.join(REPO_ROOT, 'build', 'Release', 'normkit.node');

/**
 * This environment without npm's (`npm_*`: under `npm test` they name this repository as the
 * prefix) and normkit's own variables, so a child npm or node acts as in a fresh shell.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'INIT_CWD' || k.startsWith('NORMKIT_')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function run(
  command: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = cleanEnv(),
): SpawnSyncReturns<string> {
  const [file, ...args] = command;
  const r = spawnSync(file, args, { cwd, env, encoding: 'utf8', timeout: 60000 });
  if (r.error) throw r.error;
  return r;
}

function expectOk(r: SpawnSyncReturns<string>, what: string): void {
  expect(r.status, `${what} exited with ${r.status}:\n${r.stdout}\n${r.stderr}`).to.equal(0);
}

/** A fresh project in `dir` with normkit installed from `tarball` by `command`. */
function install(dir: string, command: string[], tarball: string): SpawnSyncReturns<string> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2),
  );
  const r = run([...command, tarball], dir);
  expectOk(r, command.join(' '));
  return r;
}

interface LoadReport {
  backend: string;
  addonError: string | null;
  simd: string | null;
  warnings: string[];
}

/** Loads normkit in a child node from `dir`, by require or by import, and reports what it got. */
function load(dir: string, how: 'require' | 'import'): LoadReport {
  const report = [
    'const warnings = [];',
    "process.on('warning', (w) => warnings.push(w.name + ': ' + w.message));",
    how === 'require' ? "const nk = require('normkit');" : "const nk = await import('normkit');",
    'setImmediate(() => console.log(JSON.stringify({ backend: nk.backend,',
    '  addonError: nk.addonError, simd: nk.native && nk.native.simdPath(), warnings })));',
  ].join('\n');
  const args = how === 'require' ? ['-e', report] : ['--input-type=module', '-e', report];
  const r = run([process.execPath, ...args], dir);
  expectOk(r, `node (${how})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as LoadReport;
}

/** TypeScript sources of a consumer: one CommonJS (.cts), one ES module (.mts). */
const CONSUMER = {
  'cjs.cts': [
    "import normkit = require('normkit');",
    "import { layerNorm, type Tensor } from 'normkit';",
    'const x: Tensor = normkit.tensor([1, 2, 3, 4], [2, 2]);',
    'const y: Tensor = layerNorm(x, 2, { eps: 1e-5 });',
    "const backend: 'native' | 'js' = normkit.backend;",
    'const why: string | null = normkit.addonError;',
    '// @ts-expect-error eps is a number',
    "layerNorm(x, 2, { eps: '1e-5' });",
    'export = { y, backend, why };',
  ],
  'esm.mts': [
    "import normkit, { layerNorm, BatchNorm2d, backend, type Tensor } from 'normkit';",
    "import * as all from 'normkit';",
    'const x: Tensor = normkit.tensor([1, 2, 3, 4], [2, 2]);',
    'const y: Tensor = layerNorm(x, 2);',
    'const z: Tensor = all.default.layerNorm(x, 2);',
    "const b: 'native' | 'js' = backend;",
    'const bn = new BatchNorm2d(3).eval();',
    '// @ts-expect-error not an export of normkit',
    "import { notAnExport } from 'normkit';",
    'export { y, z, b, bn, notAnExport };',
  ],
};

describe(
  NPM ? 'install: the packed package in a fresh project' : 'install (skipped: no npm CLI found)',
  function () {
    this.timeout(120000);
    let tmp = '';
    let tarball = '';
    let packed: { files: Array<{ path: string }> } = { files: [] };

    before(function () {
      if (!NPM) this.skip();
      // Ship what this checkout built (the addon npm test loads), not an older staged binary.
      if (fs.existsSync(BUILT)) {
        const staged = runNode([path.join(REPO_ROOT, 'scripts', 'build-native.js'), '--stage']);
        expect(staged.status, staged.stderr).to.equal(0);
      }
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'normkit-install-'));
      const r = run(
        [...NPM!, 'pack', '--ignore-scripts', '--json', '--pack-destination', tmp],
        REPO_ROOT,
      );
      expectOk(r, 'npm pack');
      const out = JSON.parse(r.stdout) as Array<{
        filename: string;
        files: Array<{ path: string }>;
      }>;
      packed = out[0];
      tarball = path.join(tmp, out[0].filename);
    });

    after(() => {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('packs the prebuilt binary, the types of both module systems and the LICENSE, not the sources', function () {
      const files = packed.files.map((f) => f.path);
      if (fs.existsSync(BUILT)) {
        expect(files.filter((f) => f.startsWith(`prebuilds/${PLATFORM}/`))).to.deep.equal(
          process.platform === 'linux'
            ? [`prebuilds/${PLATFORM}/node.napi.glibc.node`]
            : [`prebuilds/${PLATFORM}/node.napi.node`],
        );
      }
      for (const f of [
        'LICENSE',
        'README.md',
        'CHANGELOG.md',
        'docs/api.md',
        'docs/installing.md',
        'package.json',
        'dist/index.js',
        'dist/index.d.ts',
      ]) {
        expect(files, f).to.include(f);
      }
      expect(files).to.include.members(['esm/index.mjs', 'esm/index.d.mts']);
      // No binding.gyp: npm would add `node-gyp rebuild` as an install script, pnpm would ask to
      // approve a build.
      expect(files.filter((f) => /binding\.gyp$|\.(cc|h)$/.test(f))).to.deep.equal([]);
    });

    const variants: Array<[string, string[]]> = [
      ['--ignore-scripts', ['--ignore-scripts']],
      ['--strict-allow-scripts', ['--strict-allow-scripts']],
      ['(scripts allowed)', []],
    ];
    for (const [label, flags] of variants) {
      it(`npm install --prefer-offline ${label}: runs no script, require and import load the native backend silently`, function () {
        if (!fs.existsSync(BUILT)) this.skip(); // nothing native to ship from this checkout
        if (flags.includes('--strict-allow-scripts')) {
          const known = run([...NPM!, 'config', 'get', 'strict-allow-scripts'], tmp);
          if (!/^(true|false)$/.test(known.stdout.trim())) this.skip(); // npm older than 11.x
        }
        const dir = path.join(tmp, `npm${flags.join('')}`);
        const started = process.hrtime.bigint();
        const r = install(dir, [...NPM!, 'install', '--prefer-offline', ...flags], tarball);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        expect(r.stdout + r.stderr).to.not.match(/install.scripts|allowScripts|node-gyp/i);
        if (flags.length === 0) {
          // A plain install: the bound, with the time shown for the record.
          console.log(`      plain npm install of the tarball: ${Math.round(ms)} ms`);
          expect(ms, 'plain npm install (ms)').to.be.below(PLAIN_INSTALL_MS);
        }
        for (const how of ['require', 'import'] as const) {
          const got = load(dir, how);
          expect(got, how).to.deep.include({ backend: 'native', addonError: null, warnings: [] });
          expect(['avx512', 'avx2', 'baseline'], how).to.include(got.simd);
        }
      });
    }

    it(
      PNPM
        ? 'installed with pnpm 10 add, no approvals: no build to approve, native backend'
        : "installed with pnpm add (skipped: no pnpm 10 on PATH or in npm's cache: npx --yes pnpm@10 --version)",
      function () {
        if (!PNPM || !fs.existsSync(BUILT)) this.skip();
        const dir = path.join(tmp, 'pnpm');
        const r = install(dir, [...PNPM, 'add', '--prefer-offline'], tarball);
        expect(r.stdout + r.stderr).to.not.match(/ignored build|approve-builds|ERR_PNPM/i);
        for (const how of ['require', 'import'] as const) {
          expect(load(dir, how), how).to.deep.include({
            backend: 'native',
            addonError: null,
            warnings: [],
          });
        }
      },
    );

    it('has no install-time script in the packed package.json and needs no build tool', function () {
      const dir = path.join(tmp, 'npm--ignore-scripts');
      if (!fs.existsSync(dir))
        install(dir, [...NPM!, 'install', '--prefer-offline', '--ignore-scripts'], tarball);
      const manifest = JSON.parse(
        fs.readFileSync(path.join(dir, 'node_modules', 'normkit', 'package.json'), 'utf8'),
      ) as {
        scripts?: Record<string, string>;
        dependencies?: Record<string, string>;
        gypfile?: boolean;
      };
      for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) {
        expect(manifest.scripts ?? {}, s).to.not.have.property(s);
      }
      expect(manifest.gypfile).to.equal(false);
      expect(Object.keys(manifest.dependencies ?? {})).to.deep.equal(['node-gyp-build']);
      const installed = fs.readdirSync(path.join(dir, 'node_modules')).filter((f) => f[0] !== '.');
      expect(installed.sort()).to.deep.equal(['node-gyp-build', 'normkit']);
    });

    it('types: ES module declarations for import, CommonJS ones for require (tsc, nodenext)', function () {
      const dir = path.join(tmp, 'npm--ignore-scripts');
      if (!fs.existsSync(dir))
        install(dir, [...NPM!, 'install', '--prefer-offline', '--ignore-scripts'], tarball);
      for (const [file, lines] of Object.entries(CONSUMER)) {
        fs.writeFileSync(path.join(dir, file), lines.join('\n') + '\n');
      }
      fs.writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'nodenext',
            moduleResolution: 'nodenext',
            strict: true,
            noEmit: true,
            // A consumer without @types/node, checking the package's declarations too.
            types: [],
            skipLibCheck: false,
          },
          files: Object.keys(CONSUMER),
        }),
      );
      const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const r = run([process.execPath, tsc, '-p', dir, '--explainFiles'], dir);
      expectOk(r, 'tsc');
      // Which declaration file each module system resolved 'normkit' to.
      const resolvedFrom = (decl: string) => {
        const at = r.stdout.indexOf(`node_modules/normkit/${decl}\n`);
        expect(at, `${decl} not among the compiled files`).to.be.at.least(0);
        return r.stdout
          .slice(at)
          .split('\n')
          .slice(1)
          .join('\n')
          .split(/\n(?=\S)/)[0];
      };
      expect(resolvedFrom('esm/index.d.mts')).to.match(
        /Imported via 'normkit' from file 'esm\.mts'/,
      );
      expect(resolvedFrom('esm/index.d.mts')).to.not.match(/from file 'cjs\.cts'/);
      expect(resolvedFrom('dist/index.d.ts')).to.match(
        /Imported via 'normkit' from file 'cjs\.cts'/,
      );
    });

    it('without a binary for the platform: one warning, the fix a dependent can run', function () {
      const dir = path.join(tmp, 'npm--ignore-scripts');
      if (!fs.existsSync(dir))
        install(dir, [...NPM!, 'install', '--prefer-offline', '--ignore-scripts'], tarball);
      // node-gyp-build looks in NORMKIT_PREBUILD instead of the package: an empty directory here.
      const empty = path.join(tmp, 'no-binaries');
      fs.mkdirSync(empty, { recursive: true });
      for (const [pm, fix] of [
        ['npm', '`npm install normkit@'],
        ['pnpm', '`pnpm add --allow-build=normkit@'],
        ['yarn', '`yarn add ./normkit-<version>.tgz`'],
      ]) {
        const script =
          "process.on('warning', (w) => console.log(JSON.stringify([w.code, w.message])));" +
          "const nk = require('normkit'); console.log(JSON.stringify([nk.backend]));";
        const r = run(
          [process.execPath, '-e', script],
          dir,
          cleanEnv({ NORMKIT_PREBUILD: empty, npm_config_user_agent: `${pm}/10.0.0 node/v20` }),
        );
        expectOk(r, 'node');
        const lines = r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as string[]);
        expect(lines.map((l) => l[0])).to.deep.equal(['js', 'NORMKIT_NATIVE_UNAVAILABLE']);
        const message = lines[1][1];
        expect(message).to.contain(`No native build was found for platform=${process.platform}`);
        expect(message).to.contain('this package ships prebuilt binaries for');
        expect(message, pm).to.contain(fix);
      }
    });

    it('are-the-types-wrong finds no problem, publint --strict no message', async function () {
      const data = fs.readFileSync(tarball);
      const attw = await dynamicImport('@arethetypeswrong/core');
      const createPackage = attw.createPackageFromTarballData as (d: Uint8Array) => unknown;
      const checkPackage = attw.checkPackage as (p: unknown) => Promise<{ problems?: unknown[] }>;
      const result = await checkPackage(createPackage(new Uint8Array(data)));
      expect(result.problems, JSON.stringify(result.problems)).to.deep.equal([]);
      const { publint } = (await dynamicImport('publint')) as unknown as {
        publint(o: object): Promise<{ messages: unknown[] }>;
      };
      const tar = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
      const lint = await publint({ pack: { tarball: tar }, strict: true });
      expect(lint.messages, JSON.stringify(lint.messages)).to.deep.equal([]);
    });
  },
);

describe('install: the loader in a checkout', () => {
  it('loads build/Release, the fresh source build, before any staged prebuilt binary', function () {
    if (!fs.existsSync(BUILT)) this.skip();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const gypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    expect(gypBuild.resolve(REPO_ROOT)).to.equal(BUILT);
  });
});

describe('install: when no binary loads', () => {
  // The loader (node-gyp-build) finds nothing, as on a platform the package has no binary for.
  const noBinary = [
    "const Module = require('module');",
    'const load = Module._load;',
    'Module._load = function (request, ...rest) {',
    "  if (request === 'node-gyp-build') return { resolve() { throw new Error('No native build was found for platform=linux arch=riscv64 runtime=node abi=115\\n    loaded from: /x\\n'); } };",
    '  return load.call(this, request, ...rest);',
    '};',
  ].join('\n');
  // The binary is found but does not load, as on a system whose C++ runtime is too old for it.
  const oldRuntime = [
    "const Module = require('module');",
    'const load = Module._load;',
    'Module._load = function (request, ...rest) {',
    "  if (request === 'node-gyp-build') return { resolve: () => '/pkg/prebuilds/linux-x64/node.napi.glibc.node' };",
    "  if (request === '/pkg/prebuilds/linux-x64/node.napi.glibc.node') throw new Error('libstdc++.so.6: version GLIBCXX_3.4.32 not found');",
    '  return load.call(this, request, ...rest);',
    '};',
  ].join('\n');
  const body = 'result = { backend: nk.backend, addonError: nk.addonError };';

  it('warns once with the whole reason, in one line, and the fix for the package manager in use', () => {
    for (const [agent, fix] of [
      ['npm/11.0.0 node/v20.0.0 linux x64', /`npm run build:native`/],
      ['pnpm/10.0.0 npm/? node/v20.0.0 linux x64', /`pnpm run build:native`/],
      ['yarn/1.22.0 npm/? node/v20.0.0 linux x64', /`yarn build:native`/],
    ] as const) {
      const report = parseReport<{ backend: string; addonError: string }>(
        runNode(['-e', childScript(body, noBinary)], { npm_config_user_agent: agent }),
      );
      expect(report.result.backend).to.equal('js');
      expect(report.result.addonError).to.contain('arch=riscv64').and.contain('loaded from: /x');
      expect(report.result.addonError).to.not.contain('\n');
      expect(report.warnings).to.have.length(1);
      const [w] = report.warnings;
      expect(w.code).to.equal('NORMKIT_NATIVE_UNAVAILABLE');
      expect(w.message).to.contain(report.result.addonError).and.match(fix);
      expect(w.message).to.contain('reference backend').and.contain('NORMKIT_REQUIRE_NATIVE=1');
    }
  });

  it('names the file that did not load and why, and how to build one', () => {
    const report = parseReport<{ backend: string; addonError: string }>(
      runNode(['-e', childScript(body, oldRuntime)]),
    );
    expect(report.result.backend).to.equal('js');
    expect(report.result.addonError).to.contain('node.napi.glibc.node did not load');
    expect(report.result.addonError).to.contain('GLIBCXX_3.4.32 not found');
    expect(report.warnings).to.have.length(1);
    expect(report.warnings[0].message).to.contain('build:native');
  });

  it('NORMKIT_REQUIRE_NATIVE=1 and NORMKIT_BACKEND=native make it an error', () => {
    for (const env of [{ NORMKIT_REQUIRE_NATIVE: '1' }, { NORMKIT_BACKEND: 'native' }]) {
      const r = runNode(['-e', childScript(body, noBinary)], env);
      const name = Object.entries(env)[0].join('=');
      expect(r.status, name).to.not.equal(0);
      expect(r.stderr, name).to.contain(`normkit: ${name} but the native addon failed to load`);
      expect(r.stderr, name).to.contain('arch=riscv64');
    }
  });

  it('NORMKIT_BACKEND=js wins over NORMKIT_REQUIRE_NATIVE=1 and warns nothing', () => {
    const report = parseReport<{ backend: string; addonError: string }>(
      runNode(['-e', childScript(body)], { NORMKIT_BACKEND: 'js', NORMKIT_REQUIRE_NATIVE: '1' }),
    );
    expect(report.result).to.deep.equal({ backend: 'js', addonError: 'NORMKIT_BACKEND=js' });
    expect(report.warnings).to.deep.equal([]);
  });
});
