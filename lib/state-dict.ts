import { invalid } from './validate';

/**
 * Loads `dict[key]` into each present target array, after checking every key first
 * (strict, like PyTorch's `load_state_dict`). Shared by the module classes.
 */
export function loadParams(
  argument: string,
  dict: unknown,
  targets: ReadonlyArray<readonly [string, Float32Array | null]>,
  extraKeys: readonly string[] = [],
): void {
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
    throw invalid('type', argument, 'a state dict object', dict);
  }
  const d = dict as Record<string, unknown>;
  const expected = targets
    .filter(([, t]) => t !== null)
    .map(([k]) => k)
    .concat(extraKeys);
  for (const key of Object.keys(d)) {
    if (!expected.includes(key))
      throw invalid('range', `${argument}.${key}`, `one of the keys ${expected.join(', ')}`, key);
  }
  for (const [key, target] of targets) {
    if (!target) continue;
    const v = d[key];
    if (!(v instanceof Float32Array))
      throw invalid('type', `${argument}.${key}`, 'a Float32Array', v);
    if (v.length !== target.length) {
      throw invalid(
        'range',
        `${argument}.${key}`,
        `a Float32Array of ${target.length} elements`,
        v,
      );
    }
  }
  for (const [key, target] of targets) if (target) target.set(d[key] as Float32Array);
}
