// The async twin of op-cases' `runOn`: one prepared call through `<op>Async`, with what must hold
// while it is in flight (it returns a promise instead of throwing; the state arrays are
// untouched until it settles) and after (a rejected call changed nothing). Used in-process by
// async.test.ts and by the worker threads of workers.test.ts, which require its compiled
// JavaScript.
import { resultArrays, type Call, type Outcome, type Prepared } from './op-cases';
import type { Api, OpDescriptor } from './ops';

/** `layerNorm` -> `layerNormAsync`. */
export const asyncName = (op: OpDescriptor): string => `${op.name}Async`;

/** The first index where `got` differs from `want` (NaN equals NaN), as a problem line. */
export function changed(got: Float32Array, want: Float32Array, label: string): string[] {
  if (got.length !== want.length) return [`${label} length ${want.length} -> ${got.length}`];
  for (let i = 0; i < want.length; i++) {
    const same = Number.isNaN(want[i]) ? Number.isNaN(got[i]) : got[i] === want[i];
    if (!same) return [`${label} changed at [${i}]: ${want[i]} -> ${got[i]}`];
  }
  return [];
}

/**
 * Runs `p` through `api[<op>Async]` with `extra` merged into its options (`signal`): the
 * outcome as `runOn` gives it (results and state arrays, or the error), plus problems when the
 * call threw instead of returning a promise, touched a state array before settling, or changed
 * anything when it rejected.
 */
export function runOnAsync(
  op: OpDescriptor,
  p: Prepared,
  api: Api,
  extra: Record<string, unknown> = {},
): Promise<Outcome> {
  return runCallAsync(op, p.make(), api, extra);
}

/** {@link runOnAsync} on a call already made (the call starts before this returns). */
export async function runCallAsync(
  op: OpDescriptor,
  call: Call,
  api: Api,
  extra: Record<string, unknown> = {},
): Promise<Outcome> {
  if (Object.keys(extra).length) {
    const at = op.params.findIndex((q) => q.kind === 'options');
    call.user[at] = { ...(call.user[at] as object), ...extra };
  }
  const copy = (r: Record<string, Float32Array>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.slice()]));
  const inputsBefore = copy(call.inputs);
  const statesBefore = copy(call.states);
  // Every array among the options (parameters, states, outputs), for a rejected call.
  const options = call.user.find((u, i) => op.params[i].kind === 'options') as object;
  const given = Object.fromEntries(
    Object.entries(options).filter(
      (e): e is [string, Float32Array] => e[1] instanceof Float32Array,
    ),
  );
  const givenBefore = copy(given);
  const problems: string[] = [];
  let pending: unknown;
  try {
    pending = api[asyncName(op)](...call.user);
  } catch (e) {
    problems.push(`${asyncName(op)} threw ${String(e)} instead of returning a rejected promise`);
    return { error: { name: 'sync throw', message: String(e) }, arrays: {}, problems };
  }
  if (!(pending instanceof Promise)) problems.push(`${asyncName(op)} returned no Promise`);
  for (const [k, v] of Object.entries(call.states)) {
    problems.push(...changed(v, statesBefore[k], `${k} before the promise settled`));
  }
  let result: unknown;
  try {
    result = await pending;
  } catch (e) {
    const err = e as Error;
    for (const [k, v] of Object.entries(given)) {
      problems.push(...changed(v, givenBefore[k], `options.${k} after a rejected call`));
    }
    for (const [k, v] of Object.entries(call.inputs)) {
      problems.push(...changed(v, inputsBefore[k], `${k}.data after a rejected call`));
    }
    problems.push(...call.clobbered());
    const name = err instanceof DOMException ? err.name : err.constructor.name;
    return { error: { name, message: err.message }, arrays: {}, problems };
  }
  const arrays: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(resultArrays(op, result))) arrays[k] = v.slice();
  for (const [k, v] of Object.entries(call.states)) arrays[`state ${k}`] = v.slice();
  problems.push(...call.clobbered());
  if (!call.inPlace) {
    for (const [k, v] of Object.entries(call.inputs)) {
      problems.push(...changed(v, inputsBefore[k], `${k}.data (an input)`));
    }
  }
  return { arrays, problems };
}
