// Loads the addon and picks the backend. NORMKIT_BACKEND=js forces the reference; =native
// makes a load failure an error; otherwise a failure falls back to the reference with one
// warning that says why.
import * as path from 'path';
import type { Kernels, NativeAddon } from './backend';
import { referenceKernels } from './reference';

function loadAddon(): { addon: NativeAddon | null; error: string | null } {
  const requested = process.env.NORMKIT_BACKEND;
  if (requested === 'js') return { addon: null, error: 'NORMKIT_BACKEND=js' };
  if (requested !== undefined && requested !== '' && requested !== 'native') {
    process.emitWarning(
      `normkit: ignoring NORMKIT_BACKEND=${requested} (expected 'js' or 'native')`,
    );
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bindings = require('bindings') as (opts: {
      bindings: string;
      module_root: string;
    }) => unknown;
    const addon = bindings({ bindings: 'normkit', module_root: path.join(__dirname, '..') });
    return { addon: addon as NativeAddon, error: null };
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    if (requested === 'native') {
      throw new Error(
        `normkit: NORMKIT_BACKEND=native but the native addon failed to load: ${reason}`,
      );
    }
    process.emitWarning(
      `normkit: the native addon could not be loaded (${reason}); using the pure TypeScript ` +
        'reference backend, which is much slower. Rebuild with `npm rebuild normkit`.',
      { code: 'NORMKIT_NATIVE_UNAVAILABLE' },
    );
    return { addon: null, error: reason };
  }
}

const loaded = loadAddon();

/** The addon, or null when the reference backend is in use. */
export const addon: NativeAddon | null = loaded.addon;
/** Why the addon is not in use, or null. */
export const addonError: string | null = loaded.error;
/** The backend every public function runs on. */
export const backend: 'native' | 'js' = addon ? 'native' : 'js';
/** The kernels of that backend. */
export const activeKernels: Kernels = addon ?? referenceKernels;
