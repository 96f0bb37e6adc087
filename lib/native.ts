// Loads the addon and picks the backend. The binary comes from node-gyp-build: build/Release (a
// source build, which wins in a clone) else prebuilds/<platform>-<arch>/ (shipped in the package,
// one Node-API binary per platform for every Node version). NORMKIT_BACKEND=js forces the
// reference; NORMKIT_BACKEND=native or NORMKIT_REQUIRE_NATIVE=1 makes a load failure an error;
// otherwise a failure falls back to the reference with one warning: the whole reason and its fix.
import * as fs from 'fs';
import * as path from 'path';
import type { Kernels, NativeAddon } from './backend';
import { referenceKernels } from './reference';

const PACKAGE_ROOT = path.join(__dirname, '..');

type Loader = { resolve(dir: string): string };

/** One line: whitespace and line breaks collapsed, so a warning carries the whole message. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The package manager running this process (npm_config_user_agent), else the one whose lockfile is here. */
function packageManager(): string {
  const agent = /^(npm|pnpm|yarn|bun)\//.exec(process.env.npm_config_user_agent ?? '');
  if (agent) return agent[1];
  const locks: Array<[string, string]> = [
    ['pnpm-lock.yaml', 'pnpm'],
    ['yarn.lock', 'yarn'],
    ['bun.lock', 'bun'],
    ['bun.lockb', 'bun'],
  ];
  for (const [file, name] of locks) {
    if (fs.existsSync(path.join(process.cwd(), file))) return name;
  }
  return 'npm';
}

/** The platform directories of prebuilds/ that this copy of the package ships. */
function shippedPlatforms(): string[] {
  try {
    return fs.readdirSync(path.join(PACKAGE_ROOT, 'prebuilds')).sort();
  } catch {
    return [];
  }
}

/** The package's git repository as an installable spec (package.json `repository`), if it names one. */
function gitUrl(): string | null {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
      repository?: string | { url?: string };
    };
    const repo = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    if (!repo) return null;
    return /^git\+|^github:/.test(repo) ? repo : `git+${repo}`;
  } catch {
    return null;
  }
}

/** What to do about a load failure: depends on the cause, the checkout and the package manager. */
function fixFor(reason: string, file: string | null): string {
  const pm = packageManager();
  if (file === null && /Cannot find module 'node-gyp-build'/.test(reason)) {
    return (
      'Install normkit with its dependencies (node-gyp-build finds the binary); a bundle must ' +
      'keep normkit external (see normkit\'s docs/installing.md, "Bundlers and Electron").'
    );
  }
  if (fs.existsSync(path.join(PACKAGE_ROOT, 'binding.gyp'))) {
    // A clone of the repository: contributors build from source.
    const run = pm === 'yarn' ? 'yarn' : `${pm} run`;
    return (
      `Build the addon from source with \`${run} build:native\` (needs a C++17 compiler, ` +
      'python3 and make; see docs/architecture.md, "Building").'
    );
  }
  const url = gitUrl() ?? "git+<normkit's repository URL>";
  const needs = "(needs a C++17 compiler, python3 and make; see normkit's docs/installing.md)";
  if (pm === 'npm') {
    return `Build a binary for this platform from source: \`npm install normkit@${url}\` ${needs}.`;
  }
  if (pm === 'pnpm') {
    // pnpm runs a git dependency's build only when approved, and approves it by commit.
    const spec = `normkit@${url}#<commit>`;
    return (
      'Build a binary for this platform from source: ' +
      `\`pnpm add --allow-build=${spec} ${spec}\` ${needs}.`
    );
  }
  return (
    'Build a binary for this platform from source: in a clone of normkit, ' +
    `\`npm ci && npm pack\`, then \`${pm} add ./normkit-<version>.tgz\` ${needs}.`
  );
}

function loadAddon(): { addon: NativeAddon | null; error: string | null } {
  const requested = process.env.NORMKIT_BACKEND;
  if (requested === 'js') return { addon: null, error: 'NORMKIT_BACKEND=js' };
  if (requested !== undefined && requested !== '' && requested !== 'native') {
    process.emitWarning(
      `normkit: ignoring NORMKIT_BACKEND=${requested} (expected 'js' or 'native')`,
    );
  }
  let file: string | null = null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const gypBuild = require('node-gyp-build') as Loader;
    file = gypBuild.resolve(PACKAGE_ROOT);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { addon: require(file) as NativeAddon, error: null };
  } catch (err) {
    const message = oneLine(err instanceof Error ? err.message : String(err));
    const platforms = shippedPlatforms();
    const reason =
      file !== null
        ? `${path.relative(PACKAGE_ROOT, file)} did not load (${message})`
        : /No native build was found/.test(message)
          ? `no binary for this platform (${message}; this package ships prebuilt binaries ` +
            `for ${platforms.length ? platforms.join(', ') : 'no platform'})`
          : `its loader failed (${message})`;
    const fix = fixFor(reason, file);
    const required =
      requested === 'native'
        ? 'NORMKIT_BACKEND=native'
        : process.env.NORMKIT_REQUIRE_NATIVE === '1'
          ? 'NORMKIT_REQUIRE_NATIVE=1'
          : null;
    if (required) {
      throw new Error(
        `normkit: ${required} but the native addon failed to load: ${reason}. ${fix}`,
      );
    }
    process.emitWarning(
      `normkit: the native addon could not be loaded: ${reason}. Using the pure TypeScript ` +
        `reference backend: correct, but 20 to 30 times slower. ${fix} ` +
        'NORMKIT_BACKEND=js selects the reference without this warning; ' +
        'NORMKIT_REQUIRE_NATIVE=1 makes this an error.',
      { code: 'NORMKIT_NATIVE_UNAVAILABLE' },
    );
    return { addon: null, error: reason };
  }
}

const loaded = loadAddon();

/** The addon, or null when the reference backend is in use. */
export const addon: NativeAddon | null = loaded.addon;
/**
 * Why the native addon is not in use, or `null` when it is: `'NORMKIT_BACKEND=js'`, or the
 * whole reason loading it failed, on one line (the reason the one-time
 * `NORMKIT_NATIVE_UNAVAILABLE` warning gives, before its fix). Fixed when normkit loads.
 *
 * @example
 * ```js
 * const { backend, addonError } = require('normkit');
 * if (addonError !== null) console.warn(`normkit runs on the reference backend: ${addonError}`);
 * console.log(backend, addonError); // prints: native null
 * ```
 */
export const addonError: string | null = loaded.error;
/**
 * The backend every function runs on: `'native'` when the addon loaded, `'js'` when every
 * function runs on the pure TypeScript reference (the addon failed to load, with a warning, or
 * `NORMKIT_BACKEND=js`). Fixed when normkit loads; `NORMKIT_REQUIRE_NATIVE=1` (or
 * `NORMKIT_BACKEND=native`) makes a failed load throw instead.
 *
 * @example
 * ```js
 * const { backend } = require('normkit');
 * console.log(backend); // prints: native
 * ```
 */
export const backend: 'native' | 'js' = addon ? 'native' : 'js';
/** The kernels of that backend. */
export const activeKernels: Kernels = addon ?? referenceKernels;
