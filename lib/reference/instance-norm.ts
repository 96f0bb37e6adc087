// Plain TypeScript InstanceNorm: per (sample, channel) mean and biased variance in float64 over
// the spatial axes. Running statistics are updated as PyTorch does (batch_norm over the
// (1, N * C, ...) reshape, then the mean over the batch): each gets the batch mean of the
// per-instance means and unbiased variances.
import { index, moments } from './layout';

export function instanceNormForward(
  input: Float32Array,
  batch: number,
  channels: number,
  spatial: number,
  channelsLast: boolean,
  weight: Float32Array | null,
  bias: Float32Array | null,
  runningMean: Float32Array | null,
  runningVar: Float32Array | null,
  useInputStats: boolean,
  momentum: number,
  eps: number,
  out: Float32Array,
  saveMean: Float32Array | null,
  saveRstd: Float32Array | null,
): void {
  // Nothing to write: return at once (a shape such as [2 ** 52, 0] would loop for ever).
  if (input.length === 0 && !saveMean && !saveRstd) return;
  const mean = new Float64Array(batch * channels);
  const variance = new Float64Array(batch * channels);
  const at = (n: number, c: number, s: number) => index(n, c, s, channels, spatial, channelsLast);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const k = n * channels + c;
      if (useInputStats) {
        [mean[k], variance[k]] = moments(spatial, (s) => input[at(n, c, s)]);
      } else {
        mean[k] = runningMean![c];
        variance[k] = runningVar![c];
      }
    }
  }
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const k = n * channels + c;
      const rstd = 1 / Math.sqrt(variance[k] + eps);
      if (saveMean) saveMean[k] = mean[k];
      if (saveRstd) saveRstd[k] = rstd;
      const w = weight ? weight[c] : 1;
      const b = bias ? bias[c] : 0;
      for (let s = 0; s < spatial; s++) {
        const i = at(n, c, s);
        out[i] = (input[i] - mean[k]) * rstd * w + b;
      }
    }
  }
  // Nothing to average over an empty batch (or empty instances, as PyTorch's zero-size path): the running statistics stay as they are.
  if (!useInputStats || batch === 0 || spatial === 0) return;
  const unbias = spatial / (spatial - 1);
  for (let c = 0; c < channels; c++) {
    let m = 0;
    let v = 0;
    for (let n = 0; n < batch; n++) {
      m += mean[n * channels + c];
      v += variance[n * channels + c] * unbias;
    }
    if (runningMean) runningMean[c] = (1 - momentum) * runningMean[c] + (momentum * m) / batch;
    if (runningVar) runningVar[c] = (1 - momentum) * runningVar[c] + (momentum * v) / batch;
  }
}
