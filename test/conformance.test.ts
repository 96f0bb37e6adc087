// Every case of ../shared/conformance/cases.json on both backends. Ops normkit does not
// implement yet show as pending.
import { expect } from 'chai';
import * as normkit from 'normkit';
import type { Tensor } from 'normkit';
import { decode, loadCases, mismatches, type ConformanceCase } from './helpers/conformance';

type Api = Pick<typeof normkit, 'layerNorm' | 'batchNorm'>;

const backends: Array<[string, Api]> = [
  [`default backend (${normkit.backend})`, normkit],
  ['reference backend', normkit.reference],
];

interface Prepared {
  inputs: Record<string, Float32Array | null>;
  run(api: Api): Record<string, Float32Array>;
}

function prepare(c: ConformanceCase): Prepared {
  const inputs: Record<string, Float32Array | null> = {};
  for (const [k, v] of Object.entries(c.inputs)) inputs[k] = v ? decode(v) : null;
  const p = c.params;
  const stored = c.inputs.input!.shape;
  return {
    inputs,
    run(api) {
      if (c.op === 'layer_norm') {
        const input: Tensor = { data: inputs.input!, shape: stored };
        const y = api.layerNorm(input, p.normalized_shape as number[], {
          weight: inputs.weight,
          bias: inputs.bias,
          eps: p.eps as number,
        });
        return { output: y.data };
      }
      const layout = p.layout as 'channels_first' | 'channels_last';
      // The case stores channels-last data with its stored shape; normkit takes the logical one.
      const shape =
        layout === 'channels_last' && stored.length > 2
          ? [stored[0], stored[stored.length - 1], ...stored.slice(1, -1)]
          : stored;
      // momentum null is the module's cumulative average: factor 1 / (num_batches_tracked + 1).
      const tracked = inputs.num_batches_tracked ? inputs.num_batches_tracked[0] : 0;
      const momentum = p.momentum === null ? 1 / (tracked + 1) : (p.momentum as number);
      const y = api.batchNorm(
        { data: inputs.input!, shape },
        {
          runningMean: inputs.running_mean,
          runningVar: inputs.running_var,
          weight: inputs.weight,
          bias: inputs.bias,
          training: p.training as boolean,
          momentum,
          eps: p.eps as number,
          layout,
        },
      );
      const result: Record<string, Float32Array> = { output: y.data };
      if (inputs.running_mean) result.running_mean = inputs.running_mean;
      if (inputs.running_var) result.running_var = inputs.running_var;
      if (inputs.num_batches_tracked) result.num_batches_tracked = new Float32Array([tracked + 1]);
      return result;
    },
  };
}

const SUPPORTED = new Set(['layer_norm', 'batch_norm']);

describe('conformance: ../shared/conformance/cases.json', () => {
  const cases = loadCases();

  it('has layer_norm and batch_norm cases to run', () => {
    expect(cases.filter((c) => c.op === 'layer_norm').length).to.be.greaterThan(10);
    expect(cases.filter((c) => c.op === 'batch_norm').length).to.be.greaterThan(10);
  });

  for (const [name, api] of backends) {
    describe(name, () => {
      for (const c of cases) {
        if (!SUPPORTED.has(c.op)) {
          it(`${c.id} (${c.op}: not implemented yet)`);
          continue;
        }
        if (c.expected_error) {
          it(`${c.id} throws (${c.expected_error}) and changes nothing`, () => {
            const prep = prepare(c);
            const before = Object.fromEntries(
              Object.entries(prep.inputs).map(([k, v]) => [k, v ? v.slice() : null]),
            );
            let error: unknown;
            try {
              prep.run(api);
            } catch (e) {
              error = e;
            }
            expect(error, 'expected an error').to.be.instanceOf(Error);
            expect(
              error instanceof TypeError || error instanceof RangeError,
              String(error),
            ).to.equal(true);
            for (const [k, v] of Object.entries(prep.inputs)) {
              if (v)
                expect(Array.from(v), `${k} was changed`).to.deep.equal(Array.from(before[k]!));
            }
          });
          continue;
        }
        it(`${c.id}`, () => {
          const got = prepare(c).run(api);
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
