// The call path of every op, compiled once per op from its descriptor: validate (read every user
// value once, then check the copies), allocate outputs, call the kernel of the chosen backend
// with its positional arguments, build the result.
//
// Why generated code: small calls (LayerNorm [1, 768], BatchNorm eval [1, 64, 1, 1]) take well
// under a microsecond, and a generic interpreter of the descriptor (loops over argument specs,
// a record of arguments, a spread across the seam) costs several times the hand-written
// validation it replaces. The generated function is the straight-line code one would write by
// hand for that op, with every rule taken from the descriptor, so nothing is restated per op.
// `describeOp` (the describe* functions) and the tests use the same descriptor.
import type { Kernels } from './backend';
import type { OpDescriptor, OptionSpec } from './op';
import { checkSignal, startAsync } from './async';
import { allocFloat32 } from './tensor';
import * as V from './validate';

/** An op's compiled entry: `(kernels, ...user arguments) => result`. */
export type OpEntry = (kernels: Kernels, ...user: unknown[]) => unknown;

const J = JSON.stringify;

// What the generated code calls; everything here reads no user object except where it says so.
const helpers = {
  invalid: V.invalid,
  readTensor: V.readTensor,
  readNormalizedShape: V.readNormalizedShape,
  checkPositiveInteger: V.checkPositiveInteger,
  checkTensorLength: V.checkTensorLength,
  checkParam: V.checkParam,
  checkEps: V.checkEps,
  checkNumber: V.checkNumber,
  checkBoolean: V.checkBoolean,
  checkLayout: V.checkLayout,
  overlaps: V.overlaps,
  alloc: allocFloat32,
  checkSignal,
  startAsync,
  unknownOption(key: string, allowed: readonly string[]): Error {
    return V.invalid('type', `options.${key}`, `one of the options ${allowed.join(', ')}`, key);
  },
  notOptions(v: unknown): Error {
    return V.invalid('type', 'options', 'an options object', v);
  },
  /** Throws unless `w` (written) and `o` share no memory, or `w` is `o` where in place is allowed. */
  alias(
    w: Float32Array,
    o: Float32Array,
    inPlace: boolean,
    wl: string,
    ol: string,
    bothStates: boolean,
  ): void {
    if (w === o) {
      if (inPlace) return;
      throw bothStates
        ? V.invalid('range', wl, `a different array from ${ol}`, `${ol} itself`, false)
        : V.invalid('range', wl, `memory apart from ${ol}`, `${ol} itself`, false);
    }
    if (V.overlaps(w, o)) {
      throw inPlace
        ? V.invalid(
            'range',
            wl,
            `${ol} itself or memory apart from it`,
            'an overlapping view',
            false,
          )
        : V.invalid('range', wl, `memory apart from ${ol}`, `a view of ${ol}`, false);
    }
  },
};

function optionCode(spec: OptionSpec, key: string, v: string, length: string): string {
  switch (spec.kind) {
    case 'array':
      return `H.checkParam(${J(key)}, ${v}, ${length})`;
    case 'eps': {
      const eps = `H.checkEps(${J(key)}, ${v}, ${spec.default})`;
      return spec.nullable ? `(${v} === null ? ${spec.default} : ${eps})` : eps;
    }
    case 'number':
      return `H.checkNumber(${J(key)}, ${v}, ${spec.default})`;
    case 'bool':
      return `H.checkBoolean(${J(key)}, ${v}, ${spec.default})`;
    case 'layout':
      return `(H.checkLayout(${v}) === 'channels_last')`;
  }
}

/** The source of op `d`'s entry function (exported for tests and for reading). */
export function entrySource(d: OpDescriptor, async = false): string {
  const m = V.metaOf(d);
  const L: string[] = [];
  const user: string[] = [];
  const tensors: string[] = [];
  let ns = 'EMPTY';
  const counts: string[] = [];
  let optionsParam: string | null = null;
  // Phase 1: read every user value once.
  d.params.forEach((p, i) => {
    const u = `u${i}`;
    user.push(u);
    if (p.kind === 'tensor') {
      L.push(`const t_${p.name} = H.readTensor(${J(p.name)}, ${u});`);
      tensors.push(p.name);
    } else if (p.kind === 'normalizedShape') {
      L.push(`const ns = H.readNormalizedShape(${u});`);
      ns = 'ns';
    } else if (p.kind === 'count') {
      L.push(`const c_${p.name} = H.checkPositiveInteger(${J(p.name)}, ${u});`);
      counts.push(`${p.name}: c_${p.name}`);
    } else {
      optionsParam = u;
    }
  });
  // The async twin takes one more option, `signal`.
  const keys = async ? [...m.optionKeys, 'signal'] : m.optionKeys;
  if (optionsParam !== null) {
    L.push(`let ${keys.map((_, k) => `o${k}`).join(', ')};`);
    L.push(`if (${optionsParam} !== undefined && ${optionsParam} !== null) {`);
    L.push(
      `  if (typeof ${optionsParam} !== 'object' || Array.isArray(${optionsParam})) throw H.notOptions(${optionsParam});`,
    );
    L.push(`  const keys = Object.keys(${optionsParam});`);
    L.push(`  for (let i = 0; i < keys.length; i++) {`);
    L.push(`    switch (keys[i]) {`);
    keys.forEach((key, k) =>
      L.push(`      case ${J(key)}: o${k} = ${optionsParam}[${J(key)}]; break;`),
    );
    L.push(`      default: throw H.unknownOption(keys[i], KEYS);`);
    L.push(`    }`, `  }`, `}`);
  }
  // Phase 2: checks on the copies; nothing below reads the caller's objects.
  for (const t of tensors) L.push(`H.checkTensorLength(${J(t)}, t_${t}.data, t_${t}.shape);`);
  L.push(
    `const s = { tensors: { ${tensors.map((t) => `${t}: t_${t}`).join(', ')} }, normalizedShape: ${ns}, counts: { ${counts.join(', ')} } };`,
    'const z = D.sizes(s);',
  );
  const len = (dims: readonly number[]) =>
    dims.length ? dims.map((j) => `a${j}`).join(' * ') : '1';
  d.args.forEach((a, i) => {
    if (a.role === 'input') L.push(`const a${i} = t_${a.name}.data;`);
    else if (a.role === 'size') L.push(`const a${i} = z[${J(a.name)}];`);
    else L.push(`let a${i} = null;`);
  });
  m.options.forEach((o, k) =>
    L.push(`a${o.arg} = ${optionCode(o.spec, o.key, `o${k}`, len(o.length))};`),
  );
  if (d.check) {
    L.push(`D.check({ ${d.args.map((a, i) => `${a.name}: a${i}`).join(', ')} }, s);`);
  }
  for (const r of m.alias) {
    const when = r.when >= 0 ? ` && a${r.when} === true` : '';
    L.push(
      `if (a${r.written} !== null && a${r.other} !== null${when}) H.alias(a${r.written}, a${r.other}, ${r.inPlace}, ${J(d.args[r.written].label)}, ${J(d.args[r.other].label)}, ${r.message === 'state'});`,
    );
  }
  for (const [i, dims] of m.outputs) L.push(`if (a${i} === null) a${i} = H.alloc(${len(dims)});`);
  // Saved statistics are for the backward pass; the public functions never ask for them, so the
  // trailing ones are left out of the call (the binding reads a missing argument as null, with
  // no N-API round trip).
  let passed = d.args.length;
  while (passed > 0 && d.args[passed - 1].role === 'saved') passed--;
  const list = d.args
    .slice(0, passed)
    .map((_, i) => `a${i}`)
    .join(', ');
  const at = (name: string) => m.names.indexOf(name);
  let result: string;
  if (typeof d.results === 'string') {
    result = `{ data: a${at(d.results)}, shape: t_input.shape }`;
  } else {
    const fields = Object.entries(d.results).map(
      ([key, arg], n) =>
        `${key}: { data: a${at(arg)}, shape: t_input.shape${n ? '.slice()' : ''} }`,
    );
    result = `{ ${fields.join(', ')} }`;
  }
  const head = `(k, ${user.join(', ')}) {\n  `;
  if (!async) {
    L.push(`k.${d.kernel}(${list});`, `return ${result};`);
    return `return function ${d.name}${head}${L.join('\n  ')}\n};`;
  }
  // The running statistics this call writes, for ordering against other calls writing them.
  const written = d.args.flatMap((a, i) =>
    a.role === 'state'
      ? [`(a${i} !== null && a${m.index[a.writtenWhen!]} === true ? [a${i}] : [])`]
      : [],
  );
  const states = written.length ? `[${written.map((w) => `...${w}`).join(', ')}]` : 'EMPTY';
  // Async: the same checks, synchronously (a bad argument rejects the promise with the same
  // error), then the kernel off the main thread.
  L.push(
    `const signal = H.checkSignal(o${keys.length - 1});`,
    `return H.startAsync(k, ${J(d.kernel)}, signal, [${list}], ${result}, ${states});`,
  );
  const body = L.join('\n    ');
  return `return function ${d.name}Async${head}try {\n    ${body}\n  } catch (e) {\n    return Promise.reject(e);\n  }\n};`;
}

/** Compiles op `d`'s entry, or its async twin (a function returning a Promise of the result). */
export function compileOp(d: OpDescriptor, async = false): OpEntry {
  const make = new Function('H', 'D', 'KEYS', 'EMPTY', entrySource(d, async)) as (
    h: typeof helpers,
    d: OpDescriptor,
    keys: readonly string[],
    empty: readonly number[],
  ) => OpEntry;
  const keys = async ? [...V.metaOf(d).optionKeys, 'signal'] : V.metaOf(d).optionKeys;
  return make(helpers, d, keys, Object.freeze([]));
}

/** `describe*`: what op `d` computes for a shape (and its other positionals), checked as the op does. */
export function describeOp(d: OpDescriptor, user: readonly unknown[]) {
  return V.describePlan(d, user);
}
