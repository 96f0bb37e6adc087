// Plain TypeScript LayerNorm: two passes in float64 per row (mean, then squared deviations),
// the normalization in float64, rounded to float32 once on store.

export function layerNormForward(
  input: Float32Array,
  rows: number,
  cols: number,
  weight: Float32Array | null,
  bias: Float32Array | null,
  eps: number,
  out: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let sum = 0;
    for (let i = 0; i < cols; i++) sum += input[base + i];
    const mean = sum / cols;
    let sq = 0;
    for (let i = 0; i < cols; i++) {
      const d = input[base + i] - mean;
      sq += d * d;
    }
    const rstd = 1 / Math.sqrt(sq / cols + eps);
    for (let i = 0; i < cols; i++) {
      let v = (input[base + i] - mean) * rstd;
      if (weight) v *= weight[i];
      if (bias) v += bias[i];
      out[base + i] = v;
    }
  }
}
