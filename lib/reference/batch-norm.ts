// Plain TypeScript BatchNorm: per-channel mean and biased variance in float64 (two passes),
// running statistics updated in float64 with the unbiased variance, as PyTorch.

import { index } from './layout';

export function batchNormForward(
  input: Float32Array,
  batch: number,
  channels: number,
  spatial: number,
  channelsLast: boolean,
  weight: Float32Array | null,
  bias: Float32Array | null,
  runningMean: Float32Array | null,
  runningVar: Float32Array | null,
  training: boolean,
  momentum: number,
  eps: number,
  out: Float32Array,
  saveMean: Float32Array | null,
  saveRstd: Float32Array | null,
): void {
  // Nothing to write: return at once (a shape such as [2 ** 52, 0] would loop for ever).
  if (input.length === 0 && !saveMean && !saveRstd) return;
  const count = batch * spatial;
  if (count === 0 || channels === 0) return;
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    if (training) {
      let sum = 0;
      for (let n = 0; n < batch; n++) {
        for (let s = 0; s < spatial; s++)
          sum += input[index(n, c, s, channels, spatial, channelsLast)];
      }
      const m = sum / count;
      let sq = 0;
      for (let n = 0; n < batch; n++) {
        for (let s = 0; s < spatial; s++) {
          const d = input[index(n, c, s, channels, spatial, channelsLast)] - m;
          sq += d * d;
        }
      }
      mean[c] = m;
      variance[c] = sq / count;
    } else {
      mean[c] = runningMean![c];
      variance[c] = runningVar![c];
    }
  }
  for (let c = 0; c < channels; c++) {
    const rstd = 1 / Math.sqrt(variance[c] + eps);
    if (saveMean) saveMean[c] = mean[c];
    if (saveRstd) saveRstd[c] = rstd;
    const w = weight ? weight[c] : 1;
    const b = bias ? bias[c] : 0;
    for (let n = 0; n < batch; n++) {
      for (let s = 0; s < spatial; s++) {
        const i = index(n, c, s, channels, spatial, channelsLast);
        out[i] = (input[i] - mean[c]) * rstd * w + b;
      }
    }
  }
  if (!training) return;
  for (let c = 0; c < channels; c++) {
    if (runningMean) runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean[c];
    if (runningVar) {
      runningVar[c] =
        (1 - momentum) * runningVar[c] + momentum * variance[c] * (count / (count - 1));
    }
  }
}
