'use strict';

// The "plain" peer: what a user would write by hand without a library. Straightforward
// two-pass mean/variance loops over Float32Array, JavaScript numbers (float64) for the sums,
// no validation, no tricks. It allocates its output unless `out` is given.
//
// `ops` (at the end) has one function per bench op with normkit's signature (tensors in, the
// same options), so bench/run.js calls `ops[c.op](...args)` exactly as it calls normkit.

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

// RMSNorm over the last dimension: y = x / sqrt(mean(x^2) + eps) * weight.
function rmsNorm(x, rows, cols, weight, eps, out) {
  const y = out || new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let sq = 0;
    for (let j = 0; j < cols; j++) sq += x[base + j] * x[base + j];
    const rstd = 1 / Math.sqrt(sq / cols + eps);
    for (let j = 0; j < cols; j++) y[base + j] = x[base + j] * rstd * (weight ? weight[j] : 1);
  }
  return y;
}

// GroupNorm over logical (N, C, S) data: per sample, groups of C / groups consecutive channels,
// two passes per group, then the per-channel affine. channelsLast: stored (N, S, C), walked in
// stored order.
function groupNorm(x, n, c, s, groups, channelsLast, weight, bias, eps, out) {
  const y = out || new Float32Array(x.length);
  const per = c / groups;
  const count = per * s;
  const groupOf = new Int32Array(c).map((_, k) => Math.floor(k / per));
  const mean = new Float64Array(groups);
  const sq = new Float64Array(groups);
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let b = 0; b < n; b++) {
    const base = b * c * s;
    mean.fill(0);
    sq.fill(0);
    if (channelsLast) {
      for (let i = 0; i < s; i++)
        for (let k = 0; k < c; k++) mean[groupOf[k]] += x[base + i * c + k];
    } else {
      for (let k = 0; k < c; k++)
        for (let i = 0; i < s; i++) mean[groupOf[k]] += x[base + k * s + i];
    }
    for (let g = 0; g < groups; g++) mean[g] /= count;
    if (channelsLast) {
      for (let i = 0; i < s; i++) {
        for (let k = 0; k < c; k++) {
          const d = x[base + i * c + k] - mean[groupOf[k]];
          sq[groupOf[k]] += d * d;
        }
      }
    } else {
      for (let k = 0; k < c; k++) {
        for (let i = 0; i < s; i++) {
          const d = x[base + k * s + i] - mean[groupOf[k]];
          sq[groupOf[k]] += d * d;
        }
      }
    }
    for (let k = 0; k < c; k++) {
      const g = groupOf[k];
      scale[k] = (weight ? weight[k] : 1) / Math.sqrt(sq[g] / count + eps);
      shift[k] = (bias ? bias[k] : 0) - mean[g] * scale[k];
    }
    if (channelsLast) {
      for (let i = 0; i < s; i++) {
        for (let k = 0; k < c; k++) {
          const j = base + i * c + k;
          y[j] = x[j] * scale[k] + shift[k];
        }
      }
    } else {
      for (let k = 0; k < c; k++) {
        for (let i = 0; i < s; i++) {
          const j = base + k * s + i;
          y[j] = x[j] * scale[k] + shift[k];
        }
      }
    }
  }
  return y;
}

// sum = a + b, elementwise: the residual add a user writes before a norm.
function add(a, b, out) {
  const y = out || new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] + b[i];
  return y;
}

// ---- normkit's signatures ------------------------------------------------------------------

const numel = (shape) => shape.reduce((a, b) => a * b, 1);
const spatialOf = (shape) => numel(shape.slice(2));
const trailing = (ns) => numel(Array.isArray(ns) ? ns : [ns]);
const result = (shape, data) => ({ data, shape });

const ops = {
  layerNorm(t, ns, o = {}) {
    const cols = trailing(ns);
    const w = o.weight || new Float32Array(cols).fill(1);
    const b = o.bias || new Float32Array(cols);
    return result(t.shape, layerNorm(t.data, t.data.length / cols, cols, w, b, o.eps, o.out));
  },
  batchNorm(t, o = {}) {
    const channelsLast = o.layout === 'channels_last';
    return result(t.shape, batchNorm(t.data, t.shape, { ...o, channelsLast }));
  },
  rmsNorm(t, ns, o = {}) {
    const cols = trailing(ns);
    const eps = o.eps ?? 2 ** -23;
    return result(t.shape, rmsNorm(t.data, t.data.length / cols, cols, o.weight, eps, o.out));
  },
  groupNorm(t, groups, o = {}) {
    const [n, c] = t.shape;
    const cl = o.layout === 'channels_last';
    const y = groupNorm(
      t.data,
      n,
      c,
      spatialOf(t.shape),
      groups,
      cl,
      o.weight,
      o.bias,
      o.eps ?? 1e-5,
      o.out,
    );
    return result(t.shape, y);
  },
  // Without running statistics, InstanceNorm is GroupNorm with one channel per group.
  instanceNorm(t, o = {}) {
    return ops.groupNorm(t, t.shape[1], o);
  },
  addLayerNorm(t, r, ns, o = {}) {
    const sum = result(t.shape, add(t.data, r.data, o.sumOut));
    return { output: ops.layerNorm(sum, ns, { ...o, sumOut: undefined }), sum };
  },
  addRmsNorm(t, r, ns, o = {}) {
    const sum = result(t.shape, add(t.data, r.data, o.sumOut));
    return { output: ops.rmsNorm(sum, ns, { ...o, sumOut: undefined }), sum };
  },
};

module.exports = { layerNorm, batchNorm, rmsNorm, groupNorm, add, ops };
