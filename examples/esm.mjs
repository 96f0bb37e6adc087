// normkit from an ES module: named imports, or the default export with everything on it.
import normkit, { tensor, layerNorm, rmsNorm, BatchNorm2d, backend, native } from 'normkit';

console.log(`backend ${backend}, SIMD path ${native?.simdPath() ?? 'none'}`);

const x = tensor([1, 2, 3, 4, 2, 4, 6, 8], [2, 4]);
const y = layerNorm(x, [4]);
console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' '));
console.log(Array.from(rmsNorm(x, 4).data, (v) => v.toFixed(4)).join(' '));

const bn = new BatchNorm2d(2);
const input = tensor(
  Array.from({ length: 36 }, (_, i) => i % 5),
  [2, 2, 3, 3],
);
const out = bn.forward(input);
console.log(
  out.shape,
  Array.from(bn.runningMean, (v) => v.toFixed(4)),
);

// The default export is the CommonJS module object: the same functions.
console.log(normkit.layerNorm === layerNorm); // true
