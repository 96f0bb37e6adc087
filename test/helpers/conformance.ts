// Loads ../shared/conformance/cases.json (format in its README) and checks results against it.
import * as fs from 'fs';
import * as path from 'path';

export interface EncodedTensor {
  shape: number[];
  dtype: 'float32';
  data: string;
}

export interface ConformanceCase {
  id: string;
  op: string;
  params: Record<string, unknown>;
  inputs: Record<string, EncodedTensor | null | undefined>;
  expected?: Record<string, EncodedTensor>;
  expected_error?: 'shape_mismatch' | 'too_few_values' | 'missing_running_stats';
  tolerance?: { abs: number; rel: number };
  note?: string;
}

export const CASES_PATH = path.resolve(__dirname, '../../../../shared/conformance/cases.json');

export function loadCases(): ConformanceCase[] {
  const doc = JSON.parse(fs.readFileSync(CASES_PATH, 'utf8')) as {
    version: number;
    cases: ConformanceCase[];
  };
  return doc.cases;
}

export function decode(t: EncodedTensor): Float32Array {
  const bytes = Buffer.from(t.data, 'base64');
  return new Float32Array(Uint8Array.from(bytes).buffer);
}

/** Indices where `got` misses `expected` under the case's tolerance rule, at most `limit` of them. */
export function mismatches(
  got: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: { abs: number; rel: number },
  limit = 5,
): string[] {
  const out: string[] = [];
  if (got.length !== expected.length)
    return [`length ${got.length} vs expected ${expected.length}`];
  for (let i = 0; i < expected.length && out.length < limit; i++) {
    const e = expected[i];
    const g = got[i];
    let ok: boolean;
    if (Number.isNaN(e)) ok = Number.isNaN(g);
    else if (!Number.isFinite(e)) ok = g === e;
    else ok = Math.abs(g - e) <= tol.abs + tol.rel * Math.abs(e);
    if (!ok) out.push(`[${i}] got ${g}, expected ${e}`);
  }
  return out;
}
