// Plain TypeScript RMSNorm: the mean of squares in float64, y = x * (1 / sqrt(ms + eps)) * w,
// as torch.nn.functional.rms_norm evaluates it (an infinite value makes rstd 0, so that value
// becomes NaN and the rest of its row 0; a NaN makes the row NaN).

export function rmsNormForward(
  input: Float32Array,
  rows: number,
  cols: number,
  weight: Float32Array | null,
  eps: number,
  out: Float32Array,
  saveRstd: Float32Array | null,
): void {
  // Nothing to write: return at once (a shape such as [2 ** 52, 0] would loop for ever).
  if (input.length === 0 && !saveRstd) return;
  for (let r = 0; r < rows; r++)
    rmsRow(input, r * cols, cols, weight, eps, out, r * cols, r, saveRstd);
}

function rmsRow(
  x: ArrayLike<number>,
  base: number,
  cols: number,
  weight: Float32Array | null,
  eps: number,
  out: Float32Array,
  outBase: number,
  r: number,
  saveRstd: Float32Array | null,
): void {
  let sq = 0;
  for (let i = 0; i < cols; i++) sq += x[base + i] * x[base + i];
  const rstd = 1 / Math.sqrt(sq / cols + eps);
  if (saveRstd) saveRstd[r] = rstd;
  for (let i = 0; i < cols; i++) {
    let v = x[base + i] * rstd;
    if (weight) v *= weight[i];
    out[outBase + i] = v;
  }
}

/** sumOut = input + residual (rounded to float32), out = rmsNorm(sumOut); row by row. */
export function addRmsNormForward(
  input: Float32Array,
  residual: Float32Array,
  rows: number,
  cols: number,
  weight: Float32Array | null,
  eps: number,
  out: Float32Array,
  sumOut: Float32Array,
  saveRstd: Float32Array | null,
): void {
  // Nothing to write: return at once (a shape such as [2 ** 52, 0] would loop for ever).
  if (input.length === 0 && !saveRstd) return;
  const row = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let i = 0; i < cols; i++) row[i] = input[base + i] + residual[base + i];
    sumOut.set(row, base);
    rmsRow(row, 0, cols, weight, eps, out, base, r, saveRstd);
  }
}
