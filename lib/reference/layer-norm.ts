// Plain TypeScript LayerNorm: two passes in float64 per row (mean, then squared deviations),
// the normalization in float64, rounded to float32 once on store. Each row is read completely
// before it is written, so `out` may be the input (in place).

export function layerNormForward(
  input: Float32Array,
  rows: number,
  cols: number,
  weight: Float32Array | null,
  bias: Float32Array | null,
  eps: number,
  out: Float32Array,
  saveMean: Float32Array | null,
  saveRstd: Float32Array | null,
): void {
  // Nothing to write: return at once (a shape such as [2 ** 52, 0] would loop for ever).
  if (input.length === 0 && !saveMean && !saveRstd) return;
  for (let r = 0; r < rows; r++)
    normalizeRow(input, r * cols, cols, weight, bias, eps, out, r, saveMean, saveRstd);
}

function normalizeRow(
  x: ArrayLike<number>,
  base: number,
  cols: number,
  weight: Float32Array | null,
  bias: Float32Array | null,
  eps: number,
  out: Float32Array,
  r: number,
  saveMean: Float32Array | null,
  saveRstd: Float32Array | null,
  outBase = base,
): void {
  let sum = 0;
  for (let i = 0; i < cols; i++) sum += x[base + i];
  const mean = sum / cols;
  let sq = 0;
  for (let i = 0; i < cols; i++) {
    const d = x[base + i] - mean;
    sq += d * d;
  }
  const rstd = 1 / Math.sqrt(sq / cols + eps);
  if (saveMean) saveMean[r] = mean;
  if (saveRstd) saveRstd[r] = rstd;
  for (let i = 0; i < cols; i++) {
    let v = (x[base + i] - mean) * rstd;
    if (weight) v *= weight[i];
    if (bias) v += bias[i];
    out[outBase + i] = v;
  }
}

/** sumOut = input + residual (rounded to float32), out = layerNorm(sumOut); row by row. */
export function addLayerNormForward(
  input: Float32Array,
  residual: Float32Array,
  rows: number,
  cols: number,
  weight: Float32Array | null,
  bias: Float32Array | null,
  eps: number,
  out: Float32Array,
  sumOut: Float32Array,
  saveMean: Float32Array | null,
  saveRstd: Float32Array | null,
): void {
  // Nothing to write: return at once (a shape such as [2 ** 52, 0] would loop for ever).
  if (input.length === 0 && !saveMean && !saveRstd) return;
  const row = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let i = 0; i < cols; i++) row[i] = input[base + i] + residual[base + i];
    sumOut.set(row, base);
    normalizeRow(row, 0, cols, weight, bias, eps, out, r, saveMean, saveRstd, base);
  }
}
