'use strict';

// The "plain" peer: what a user would write by hand without a library. Straightforward
// two-pass mean/variance loops over Float32Array, JavaScript numbers (float64) for the sums,
// no validation, no tricks. It allocates its output unless `out` is given.

// LayerNorm over the last dimension (`cols`) of a row-major [rows, cols] array.
function layerNorm(x, rows, cols, weight, bias, eps = 1e-5, out) {
  const y = out || new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += x[base + j];
    const mean = sum / cols;
    let sq = 0;
    for (let j = 0; j < cols; j++) {
      const d = x[base + j] - mean;
      sq += d * d;
    }
    const rstd = 1 / Math.sqrt(sq / cols + eps);
    for (let j = 0; j < cols; j++) {
      y[base + j] = (x[base + j] - mean) * rstd * weight[j] + bias[j];
    }
  }
  return y;
}

// Per-channel mean and biased variance of logical (N, C, S) data, two passes.
// channelsLast: the data is stored (N, S, C); otherwise (N, C, S).
function channelStats(x, n, c, s, channelsLast) {
  const mean = new Float64Array(c);
  const varc = new Float64Array(c);
  const count = n * s;
  if (channelsLast) {
    const positions = n * s;
    for (let p = 0; p < positions; p++) {
      const base = p * c;
      for (let k = 0; k < c; k++) mean[k] += x[base + k];
    }
    for (let k = 0; k < c; k++) mean[k] /= count;
    for (let p = 0; p < positions; p++) {
      const base = p * c;
      for (let k = 0; k < c; k++) {
        const d = x[base + k] - mean[k];
        varc[k] += d * d;
      }
    }
  } else {
    for (let k = 0; k < c; k++) {
      let sum = 0;
      for (let b = 0; b < n; b++) {
        const base = (b * c + k) * s;
        for (let i = 0; i < s; i++) sum += x[base + i];
      }
      const m = sum / count;
      let sq = 0;
      for (let b = 0; b < n; b++) {
        const base = (b * c + k) * s;
        for (let i = 0; i < s; i++) {
          const d = x[base + i] - m;
          sq += d * d;
        }
      }
      mean[k] = m;
      varc[k] = sq;
    }
  }
  for (let k = 0; k < c; k++) varc[k] /= count;
  return { mean, var: varc, count };
}

// y = x * scale[c] + shift[c] over logical (N, C, S) data.
function applyAffine(x, y, n, c, s, channelsLast, scale, shift) {
  if (channelsLast) {
    const positions = n * s;
    for (let p = 0; p < positions; p++) {
      const base = p * c;
      for (let k = 0; k < c; k++) y[base + k] = x[base + k] * scale[k] + shift[k];
    }
  } else {
    for (let b = 0; b < n; b++) {
      for (let k = 0; k < c; k++) {
        const base = (b * c + k) * s;
        const a = scale[k];
        const o = shift[k];
        for (let i = 0; i < s; i++) y[base + i] = x[base + i] * a + o;
      }
    }
  }
}

// BatchNorm over logical shape (N, C, ...spatial). opts: { runningMean, runningVar, weight,
// bias, training, momentum, eps, channelsLast, out }. Training normalizes with the batch
// statistics and updates the running stats in place (unbiased variance), like PyTorch.
function batchNorm(x, shape, opts) {
  const { runningMean, runningVar, weight, bias, training = false } = opts;
  const { momentum = 0.1, eps = 1e-5, out } = opts;
  const n = shape[0];
  const c = shape[1];
  let s = 1;
  for (let i = 2; i < shape.length; i++) s *= shape[i];
  // Rank-2 (N, C) data is the same memory in both layouts; the row-wise loop is the natural one.
  const channelsLast = Boolean(opts.channelsLast) || s === 1;
  const y = out || new Float32Array(x.length);
  let mean;
  let variance;
  if (training) {
    const stats = channelStats(x, n, c, s, channelsLast);
    mean = stats.mean;
    variance = stats.var;
    if (runningMean && runningVar) {
      const unbias = stats.count > 1 ? stats.count / (stats.count - 1) : 1;
      for (let k = 0; k < c; k++) {
        runningMean[k] = (1 - momentum) * runningMean[k] + momentum * mean[k];
        runningVar[k] = (1 - momentum) * runningVar[k] + momentum * variance[k] * unbias;
      }
    }
  } else {
    mean = runningMean;
    variance = runningVar;
  }
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    const w = weight ? weight[k] : 1;
    const b = bias ? bias[k] : 0;
    const m = mean ? mean[k] : 0;
    const v = variance ? variance[k] : 1;
    scale[k] = w / Math.sqrt(v + eps);
    shift[k] = b - m * scale[k];
  }
  applyAffine(x, y, n, c, s, channelsLast, scale, shift);
  return y;
}

module.exports = { layerNorm, batchNorm };
