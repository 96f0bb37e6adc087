// Every case of ../shared/conformance/cases.json on both backends, through one adapter built from
// the op descriptors: a case runs on the op whose descriptor's `conformance` is the case's op.
// Cases of ops no descriptor claims (the backward passes) show as pending.
import { expect } from 'chai';
import * as normkit from 'normkit';
import { decode, loadCases, mismatches, type ConformanceCase } from './helpers/conformance';
import {
  asApi,
  defaultBackendSkipReason,
  OP_LIST,
  snake,
  type Api,
  type OpDescriptor,
} from './helpers/ops';
import { resultArrays } from './helpers/op-cases';

const backends: Array<[string, Api]> = [
  [`default backend (${normkit.backend})`, asApi(normkit)],
  ['reference backend', asApi(normkit.reference)],
];

interface Adapted {
  /** Every decoded input array, by the case's name (to check that a failing call changed none). */
  inputs: Record<string, Float32Array | null>;
  /** Runs the case; returns each expected key's array. */
  run(api: Api): Record<string, Float32Array>;
}

/**
 * The case as a call of `op`: tensors from `inputs`, `normalizedShape` from `normalized_shape`,
 * counts (numGroups) and options from the snake_case params and inputs of the same name. A
 * channels_last case stores data (N, ...spatial, C) with that stored shape; normkit takes the
 * logical (N, C, ...spatial). Every param and input must find its place: one left over means
 * the descriptor and the file disagree.
 */
function adapt(op: OpDescriptor, c: ConformanceCase): Adapted {
  const inputs: Record<string, Float32Array | null> = {};
  for (const [k, v] of Object.entries(c.inputs)) inputs[k] = v ? decode(v) : null;
  const p = c.params;
  const unused = new Set([...Object.keys(p), ...Object.keys(inputs)]);
  const take = <T>(from: Record<string, T>, key: string): T | undefined => {
    unused.delete(key);
    return from[key];
  };
  const logical = (stored: number[]) =>
    p.layout === 'channels_last' && stored.length > 2
      ? [stored[0], stored[stored.length - 1], ...stored.slice(1, -1)]
      : stored;

  // momentum null is the module's cumulative average: factor 1 / (num_batches_tracked + 1),
  // and the module's num_batches_tracked goes up by one.
  const trackedIn = take(inputs, 'num_batches_tracked');
  const tracked = trackedIn ? trackedIn[0] : 0;

  const user: unknown[] = [];
  const states: Record<string, Float32Array> = {};
  for (const param of op.params) {
    if (param.kind === 'tensor') {
      const data = take(inputs, snake(param.name));
      if (!data) throw new Error(`case has no tensor ${snake(param.name)}`);
      user.push({ data, shape: logical(c.inputs[snake(param.name)]!.shape) });
    } else if (param.kind === 'normalizedShape') {
      user.push(take(p, 'normalized_shape'));
    } else if (param.kind === 'count') {
      user.push(take(p, snake(param.name)));
    } else {
      const options: Record<string, unknown> = {};
      for (const [key, spec] of Object.entries(op.options)) {
        const name = snake(key);
        if (spec.kind === 'array') {
          if (!(name in inputs)) continue;
          const a = take(inputs, name)!;
          options[key] = a;
          const role = op.args.find((x) => x.name === spec.arg)!.role;
          if (a && role === 'state') states[name] = a;
        } else if (name in p) {
          const v = take(p, name);
          options[key] = spec.kind === 'number' && v === null ? 1 / (tracked + 1) : v;
        }
      }
      user.push(options);
    }
  }
  if (unused.size) {
    throw new Error(`case ${c.id}: nothing of ${op.name} takes ${[...unused].join(', ')}`);
  }
  return {
    inputs,
    run(api) {
      const results = resultArrays(op, api[op.name](...user));
      const got: Record<string, Float32Array> = { ...states };
      // The expected `output` is the op's result (its `output` where it has several).
      got.output = results.output ?? Object.values(results)[0];
      if (trackedIn) got.num_batches_tracked = new Float32Array([tracked + 1]);
      return got;
    },
  };
}

describe('conformance: ../shared/conformance/cases.json', () => {
  const cases = loadCases();
  const opFor = (c: ConformanceCase) => OP_LIST.find((op) => op.conformance === c.op);

  it('has cases for every op whose descriptor names a conformance op', () => {
    for (const op of OP_LIST) {
      if (!op.conformance) continue;
      const n = cases.filter((c) => c.op === op.conformance).length;
      expect(n, `${op.name}: cases of ${op.conformance}`).to.be.greaterThan(0);
    }
    expect(cases.filter((c) => c.op === 'layer_norm').length).to.be.greaterThan(10);
    expect(cases.filter((c) => c.op === 'batch_norm').length).to.be.greaterThan(10);
  });

  it('adapts every case of an op normkit has: each param and input finds its place', () => {
    for (const c of cases) {
      const op = opFor(c);
      if (op) expect(() => adapt(op, c), c.id).to.not.throw();
    }
  });

  for (const [name, api] of backends) {
    describe(name, () => {
      for (const c of cases) {
        const op = opFor(c);
        if (!op) {
          it(`${c.id} (${c.op}: no op descriptor claims it yet)`);
          continue;
        }
        const skipReason = () => (api === backends[0][1] ? defaultBackendSkipReason(op) : null);
        if (c.expected_error) {
          it(`${c.id}: ${op.name} throws (${c.expected_error}) and changes nothing`, function () {
            const reason = skipReason();
            if (reason) this.skip();
            const adapted = adapt(op, c);
            const before = Object.entries(adapted.inputs).map(([k, v]) => [k, v?.slice()] as const);
            let error: unknown;
            try {
              adapted.run(api);
            } catch (e) {
              error = e;
            }
            expect(error, 'expected an error').to.be.instanceOf(Error);
            expect(
              error instanceof TypeError || error instanceof RangeError,
              String(error),
            ).to.equal(true);
            expect((error as Error).message).to.match(/^Expected .+ for .+, but received .+/);
            for (const [k, v] of before) {
              if (v)
                expect(Array.from(adapted.inputs[k]!), `${k} changed`).to.deep.equal(Array.from(v));
            }
          });
          continue;
        }
        it(`${c.id}: ${op.name}`, function () {
          const reason = skipReason();
          if (reason) this.skip();
          const got = adapt(op, c).run(api);
          for (const [key, enc] of Object.entries(c.expected!)) {
            expect(got, `result has ${key}`).to.have.property(key);
            const bad = mismatches(got[key], decode(enc), c.tolerance!);
            expect(bad, `${key} mismatches`).to.deep.equal([]);
          }
        });
      }
    });
  }
});
