// Plain TypeScript GroupNorm: per (sample, group) mean and biased variance in float64 over the
// group's channels and the spatial axes, then per-channel weight and bias.
import { index, moments } from './layout';

export function groupNormForward(
  input: Float32Array,
  batch: number,
  channels: number,
  spatial: number,
  groups: number,
  channelsLast: boolean,
  weight: Float32Array | null,
  bias: Float32Array | null,
  eps: number,
  out: Float32Array,
  saveMean: Float32Array | null,
  saveRstd: Float32Array | null,
): void {
  // Nothing to write: return at once (a shape such as [2 ** 52, 0] would loop for ever).
  if (input.length === 0 && !saveMean && !saveRstd) return;
  const per = channels / groups;
  const at = (n: number, c: number, s: number) => index(n, c, s, channels, spatial, channelsLast);
  for (let n = 0; n < batch; n++) {
    for (let g = 0; g < groups; g++) {
      const c0 = g * per;
      const [mean, variance] = moments(
        per * spatial,
        (k) => input[at(n, c0 + Math.floor(k / spatial), k % spatial)],
      );
      const rstd = 1 / Math.sqrt(variance + eps);
      if (saveMean) saveMean[n * groups + g] = mean;
      if (saveRstd) saveRstd[n * groups + g] = rstd;
      for (let c = c0; c < c0 + per; c++) {
        const w = weight ? weight[c] : 1;
        const b = bias ? bias[c] : 0;
        for (let s = 0; s < spatial; s++) {
          const i = at(n, c, s);
          out[i] = (input[i] - mean) * rstd * w + b;
        }
      }
    }
  }
}
