// Positional arguments of a kernel (the addon's `<op>Forward`, or the descriptor's reference),
// built from the op's descriptor: arrays of the declared lengths, sizes from the shape rule, flags
// as asked, scalars at their option defaults; written arrays filled with a sentinel so that a
// rejected call can be shown to have written nothing. Also the size sweep the binding test runs
// in a child process, where a crashing kernel cannot take the test run down with it.
import { data, params, snapshotOf, stateValues, type OpShape } from './op-cases';
import { isArrayArg, optionFor, type ArgSpec, type Fn, type OpDescriptor, type Sizes } from './ops';
import { mulberry32 } from './prng';

export const SENTINEL = 42.25;

export interface KernelArgsOptions {
  /** Bool arguments by name; false where not given. */
  flags?: Record<string, boolean>;
  /** Leave out the optional arrays (params, saved, states where the kernel writes them). */
  bare?: boolean;
  seed?: number;
}

/** The length of array argument `a` for `sizes` (product of its size arguments). */
export function lengthOf(a: ArgSpec, sizes: Sizes): number {
  return (a.length ?? []).reduce((n, s) => n * sizes[s], 1);
}

/** Whether the binding requires array `a` with these flags (inputs, outputs, states it reads). */
export function required(a: ArgSpec, flags: Record<string, boolean>): boolean {
  return a.kind === 'f32' || (a.role === 'state' && !flags[a.writtenWhen!]);
}

/** The scalar value of argument `a`: its option's default (eps, momentum), else 0.1. */
function scalar(op: OpDescriptor, a: ArgSpec): number {
  const key = optionFor(op, a.name);
  const spec = key ? op.options[key] : undefined;
  return spec && 'default' in spec && typeof spec.default === 'number' ? spec.default : 0.1;
}

/**
 * The kernel's arguments by name for `sizes`, with fresh arrays: inputs, params and states drawn
 * from `seed`, outputs and saved statistics filled with {@link SENTINEL}.
 */
export function kernelArgs(
  op: OpDescriptor,
  sizes: Sizes,
  o: KernelArgsOptions = {},
): Record<string, unknown> {
  const rng = mulberry32(o.seed ?? 1);
  const flags = o.flags ?? {};
  const byName: Record<string, unknown> = {};
  for (const a of op.args) {
    const len = isArrayArg(a) ? lengthOf(a, sizes) : 0;
    switch (a.role) {
      case 'input':
        byName[a.name] = data(rng, len, 'normal');
        break;
      case 'param':
        byName[a.name] = o.bare ? null : params(rng, len);
        break;
      case 'state':
        byName[a.name] =
          o.bare && !required(a, flags) ? null : stateValues(rng, len, a.name, 'normal');
        break;
      case 'output':
        byName[a.name] = new Float32Array(len).fill(SENTINEL);
        break;
      case 'saved':
        byName[a.name] = o.bare ? null : new Float32Array(len).fill(SENTINEL);
        break;
      case 'size':
        byName[a.name] = sizes[a.name];
        break;
      case 'flag':
        byName[a.name] = flags[a.name] ?? false;
        break;
      case 'scalar':
        byName[a.name] = scalar(op, a);
        break;
    }
  }
  return byName;
}

/** Whether the op's cross-argument rules (`check`) accept these kernel arguments for `s`. */
export function checkAccepts(
  op: OpDescriptor,
  s: OpShape,
  byName: Record<string, unknown>,
): boolean {
  try {
    op.check?.(byName, snapshotOf(op, s.shape, s.normalizedShape ?? [], s.counts));
    return true;
  } catch (e) {
    if (e instanceof RangeError) return false;
    throw e;
  }
}

/** The positional list of `byName`, in the descriptor's order. */
export const positional = (op: OpDescriptor, byName: Record<string, unknown>): unknown[] =>
  op.args.map((a) => byName[a.name]);

/** A deep copy: every array copied, so two kernels can run on the same values. */
export function copyArgs(byName: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(byName).map(([k, v]) => [k, v instanceof Float32Array ? v.slice() : v]),
  );
}

/** Every combination of the kernel's bool arguments. */
export function flagCombos(op: OpDescriptor): Array<Record<string, boolean>> {
  let combos: Array<Record<string, boolean>> = [{}];
  for (const a of op.args) {
    if (a.kind !== 'bool') continue;
    combos = combos.flatMap((c) => [
      { ...c, [a.name]: false },
      { ...c, [a.name]: true },
    ]);
  }
  return combos;
}

/** Flags under which every state array is written. */
export function writingFlags(op: OpDescriptor): Record<string, boolean> {
  return Object.fromEntries(op.args.flatMap((a) => (a.writtenWhen ? [[a.writtenWhen, true]] : [])));
}

/**
 * Calls `kernel` with every size argument of `base` in turn set to each of `values` (arrays
 * resized to match, every one a view between guard values), on every flag combination; returns
 * what went wrong: a write outside an array, or an error other than a TypeError or RangeError.
 * `log` is called before each call, so that a crash can be traced to the call that caused it.
 */
export function sizeSweep(
  op: OpDescriptor,
  kernel: Fn,
  base: OpShape,
  values: readonly number[],
  log: (what: string) => void = () => {},
): string[] {
  const problems: string[] = [];
  const GUARD = 8;
  for (const a of op.args) {
    if (a.kind !== 'size') continue;
    for (const v of values) {
      for (const flags of flagCombos(op)) {
        const sizes = { ...base.sizes, [a.name]: v };
        const byName = kernelArgs(op, sizes, { flags });
        const guarded: Array<[string, Float32Array]> = [];
        for (const s of op.args) {
          const x = byName[s.name];
          if (!(x instanceof Float32Array)) continue;
          const buffer = new Float32Array(x.length + 2 * GUARD).fill(-7.5);
          const view = buffer.subarray(GUARD, GUARD + x.length);
          view.set(x);
          byName[s.name] = view;
          guarded.push([s.name, buffer]);
        }
        const what = `${op.kernel} ${a.name} = ${v}, ${JSON.stringify(flags)}, sizes ${JSON.stringify(sizes)}`;
        log(what);
        try {
          kernel(...positional(op, byName));
        } catch (e) {
          if (!(e instanceof TypeError || e instanceof RangeError)) problems.push(`${what}: ${e}`);
        }
        for (const [name, buffer] of guarded) {
          const len = buffer.length - 2 * GUARD;
          for (const i of [
            ...Array(GUARD).keys(),
            ...Array.from({ length: GUARD }, (_, k) => GUARD + len + k),
          ]) {
            if (buffer[i] !== -7.5) {
              problems.push(`${what}: wrote outside ${name} (guard [${i}] = ${buffer[i]})`);
              break;
            }
          }
        }
      }
    }
  }
  return problems;
}
