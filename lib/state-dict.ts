import { invalid, isFloat32Array, lengthOf } from './validate';

/** A module's array state: PyTorch's key, and the module's array (null when it has none). */
export type StateTargets = ReadonlyArray<readonly [string, Float32Array | null]>;

/**
 * Reads a state dict once (its own keys, then each value exactly once) and checks it strictly,
 * as PyTorch's `load_state_dict`: every key of a present target (and of `extraKeys`) and nothing
 * else, each array a Float32Array of its target's length. Returns the values read; nothing is
 * written. The checks run after all reads, so a getter that detaches an array read earlier is
 * caught.
 */
export function readStateDict(
  argument: string,
  dict: unknown,
  targets: StateTargets,
  extraKeys: readonly string[] = [],
): Record<string, unknown> {
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
    throw invalid('type', argument, 'a state dict object', dict);
  }
  const expected = targets
    .filter(([, t]) => t !== null)
    .map(([k]) => k)
    .concat(extraKeys);
  const keys = Object.keys(dict);
  for (const key of keys) {
    if (!expected.includes(key))
      throw invalid('range', `${argument}.${key}`, `one of the keys ${expected.join(', ')}`, key);
  }
  const values: Record<string, unknown> = {};
  for (const key of keys) values[key] = (dict as Record<string, unknown>)[key];
  for (const [key, target] of targets) {
    if (!target) continue;
    const v = values[key];
    if (!isFloat32Array(v)) throw invalid('type', `${argument}.${key}`, 'a Float32Array', v);
    if (lengthOf(v) !== target.length) {
      throw invalid(
        'range',
        `${argument}.${key}`,
        `a Float32Array of ${target.length} elements`,
        v,
      );
    }
  }
  return values;
}

/** Copies checked values (from {@link readStateDict}) into the targets. */
export function writeStateDict(values: Record<string, unknown>, targets: StateTargets): void {
  for (const [key, target] of targets) if (target) target.set(values[key] as Float32Array);
}

/** Copies of the present targets under their keys. */
export function copyState(targets: StateTargets): Record<string, Float32Array> {
  const d: Record<string, Float32Array> = {};
  for (const [key, target] of targets) if (target) d[key] = target.slice();
  return d;
}

/** A module's parameter array of `size` values filled with `value`, or a RangeError naming `argument`. */
export function allocParam(argument: string, size: number, value: number): Float32Array {
  if (size > 2 ** 30) {
    throw invalid('range', argument, 'at most 2^30 elements in a parameter', size);
  }
  return new Float32Array(size).fill(value);
}
