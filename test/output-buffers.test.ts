// Small results come from a pooled slab (lib/tensor.ts): they must never alias each other.
import { expect } from 'chai';
import * as normkit from 'normkit';

function overlaps(a: Float32Array, b: Float32Array): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

describe('output buffers', () => {
  it('gives each small result memory of its own, unchanged by later calls', () => {
    const x = { data: Float32Array.from({ length: 768 }, (_, i) => Math.sin(i)), shape: [1, 768] };
    const results = Array.from({ length: 100 }, () => normkit.layerNorm(x, [768]));
    const first = results[0].data.slice();
    for (let i = 1; i < results.length; i++) {
      expect(overlaps(results[i - 1].data, results[i].data)).to.equal(false);
      expect(results[i].data.length).to.equal(768);
    }
    normkit.layerNorm({ data: new Float32Array(768).fill(3), shape: [768] }, 768);
    expect(Array.from(results[0].data)).to.deep.equal(Array.from(first));
    expect(Array.from(results[99].data)).to.deep.equal(Array.from(first));
  });

  it('gives large results an ArrayBuffer of their own', () => {
    const x = { data: new Float32Array(4096).map((_, i) => i % 7), shape: [4, 1024] };
    const y = normkit.layerNorm(x, [1024]);
    expect(y.data.byteOffset).to.equal(0);
    expect(y.data.buffer.byteLength).to.equal(4096 * 4);
  });

  it('returns empty results for zero-size input on both backends', () => {
    for (const api of [normkit, normkit.reference]) {
      expect(api.layerNorm({ data: new Float32Array(0), shape: [0, 8] }, 8).data.length).to.equal(
        0,
      );
    }
  });
});
