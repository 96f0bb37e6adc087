// The op registry as the tests see it: the descriptors (dist/ops/index.js, generated from
// lib/ops/*.ts), the names derived from them, and which kernels the built addon has. Tests that
// loop over every op start here, so adding an op adds its tests without editing a list.
import * as path from 'path';
import * as normkit from 'normkit';
import type { ArgSpec, OpDescriptor } from '../../dist/op';
import { loadRawAddon, REPO_ROOT } from './tensors';

export type { ArgSpec, OpDescriptor, OptionSpec, Sizes } from '../../dist/op';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const registry = require(path.join(REPO_ROOT, 'dist/ops/index.js')) as {
  OPS: Readonly<Record<string, OpDescriptor>>;
};

/** Every op descriptor, by public name. */
export const OPS: Readonly<Record<string, OpDescriptor>> = registry.OPS;
/** Every op descriptor, in the registry's order. */
export const OP_LIST: readonly OpDescriptor[] = Object.values(OPS);

/** `rmsNorm` -> `RmsNorm`. */
export const pascal = (name: string): string => name[0].toUpperCase() + name.slice(1);
/** `runningMean` -> `running_mean` (the conformance file's names). */
export const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** `addLayerNorm` -> `add-layer-norm` (the op's file names in lib/ and dist/). */
export const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export const isArrayArg = (a: ArgSpec): boolean => a.kind === 'f32' || a.kind === 'f32?';

/** Whether the kernel writes array `a` when called with `args` (by name). */
export function isWritten(a: ArgSpec, args: Readonly<Record<string, unknown>>): boolean {
  if (a.role === 'output' || a.role === 'saved') return true;
  return a.role === 'state' && args[a.writtenWhen!] === true;
}

/** The option key whose value becomes kernel argument `arg`, if any. */
export function optionFor(op: OpDescriptor, arg: string): string | undefined {
  return Object.keys(op.options).find((k) => op.options[k].arg === arg);
}

export type Fn = (...args: unknown[]) => unknown;
/** The public functions of an API object (normkit, normkit.reference) by name. */
export type Api = Readonly<Record<string, Fn>>;
export const asApi = (o: object): Api => o as unknown as Api;

interface AddonStatus {
  addon: Record<string, Fn> | null;
  /** The kernels of the registry the addon does not export. */
  missing: string[];
}

let status: AddonStatus | undefined;

/** The raw addon (whatever NORMKIT_BACKEND says) and the registry kernels it lacks. */
export function addonStatus(): AddonStatus {
  if (!status) {
    const addon = loadRawAddon() as Record<string, Fn> | null;
    const missing = addon ? OP_LIST.map((op) => op.kernel).filter((k) => !addon[k]) : [];
    status = { addon, missing };
  }
  return status;
}

/**
 * Why the addon cannot run `op`'s kernel (no addon, or it predates the op), or null when it can.
 * The addon registers every kernel of one generated table, so one missing kernel means a build
 * older than the descriptors.
 */
export function nativeSkipReason(op: OpDescriptor): string | null {
  const { addon } = addonStatus();
  if (!addon) return 'the addon does not load';
  if (!addon[op.kernel]) return `the built addon has no ${op.kernel} (stale build: rebuild it)`;
  return null;
}

/** Why the default backend cannot run `op`, or null when it can (the reference runs every op). */
export function defaultBackendSkipReason(op: OpDescriptor): string | null {
  return normkit.backend === 'native' ? nativeSkipReason(op) : null;
}
