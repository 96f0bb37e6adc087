'use strict';

// The bench cases (all float32). A case names its op by the descriptor's name (lib/ops/<op>.ts:
// `layerNorm`, `groupNorm`, ...) and says how to build that op's positional arguments from the
// case's data; run.js calls every implementation the same way, `impl[op](...args)`, for normkit,
// `normkit.reference` and the plain JS peer (bench/plain.js, the same signatures).
//
// Fields:
//   op           the descriptor name: normkit[op], normkit.reference[op], plain[op]
//   shape        the input's logical shape; `params` is the length of weight/bias/running stats
//   inputs       the tensors the op reads (1, or 2 for the fused residual ops)
//   streams      arrays of prod(shape) values the op reads plus writes: the GB/s numerator (the
//                copy baseline moves 2)
//   args(d, o)   the positional arguments from the data d (run.js makeData: d.input, d.residual,
//                d.weight, d.bias, d.runningMean, d.runningVar, d.out, d.sumOut); o.withOut:
//                write into the preallocated outputs; o.fresh(a): a copy of an array the call
//                updates (running statistics), one per implementation
//   pair         fused residual ops: the unfused pair, `sum = input + residual` into d.sumOut
//                (a JS loop), then normkit[pair.op](...pair.args(d, o)) on that sum
//   peer         what the torch peer (bench/torch_peer.py) and onnxruntime (bench/ort.js) need
//                beyond op and shape; the case is sent to them as JSON (functions dropped)
//   kind         'throughput' (one call per sample, preallocated outputs) or 'latency' (many
//                calls per sample, µs per call, the plain allocating call)
//   large        carries the thread-scaling target; targets are checked on the normkit row at all
//                cores
//   outOfCache   far larger than any last-level cache (512 MiB inputs): judged against the
//                streaming-store copy only; skipped by --quick unless --large, and by --no-large

const copyRatio = (min) => ({ type: 'copyRatio', min });
const copyTime = (max) => ({ type: 'copyTime', max });
const latencyUs = (max) => ({ type: 'latencyUs', max });
// Against the streaming-store copy of the same bytes (the memory limit), issue 7's targets.
const limitRatio = (min) => ({ type: 'limitRatio', min });
const pairRatio = (min) => ({ type: 'pairRatio', min });

const SCALING_MIN = 1.6;
const EPS = 1e-5;

const dims = (shape) => shape.join('x');
const show = (shape) => `[${shape.join(',')}]`;
const last = (shape) => shape[shape.length - 1];
const outs = (d, o) => (o.withOut ? { out: d.out } : {});
const sumOuts = (d, o) => (o.withOut ? { out: d.out, sumOut: d.sumOut } : {});
const tag = (layout) => (layout === 'channels_last' ? 'NHWC' : 'NCHW');

// `extra.id`, where given, replaces the id's prefix (derived from `short` otherwise) so that a
// --filter prefix of one case does not match another (`ln-` and the fused `addlayernorm-`).
function base(op, short, shape, { id, ...extra }) {
  const prefix =
    id ||
    short
      .toLowerCase()
      .replace(/[^a-z0-9 ]/g, '')
      .replace(/ /g, '-');
  return {
    id: `${prefix}-${dims(shape)}`,
    name: `${short} ${show(shape)}`,
    short,
    op,
    shape,
    params: shape[1],
    inputs: 1,
    streams: 2,
    kind: 'throughput',
    large: false,
    outOfCache: false,
    targets: [],
    peer: {},
    ...extra,
  };
}

function ln(shape, extra = {}) {
  const short = extra.kind === 'latency' ? 'LN latency' : 'LN';
  return base('layerNorm', short, shape, {
    params: last(shape),
    args: (d, o) => [
      d.input,
      [last(shape)],
      { weight: d.weight, bias: d.bias, eps: EPS, ...outs(d, o) },
    ],
    ...extra,
  });
}

function bn(shape, training, layout, extra = {}) {
  const rank = shape.length === 2 ? 'BN1d' : 'BN2d';
  const mode = training ? 'train' : 'eval';
  const short =
    extra.kind === 'latency'
      ? `BN ${mode} latency`
      : `${rank} ${mode}${shape.length === 2 ? '' : ` ${tag(layout)}`}`;
  return base('batchNorm', short, shape, {
    layout,
    training,
    args: (d, o) => [
      d.input,
      {
        runningMean: o.fresh(d.runningMean),
        runningVar: o.fresh(d.runningVar),
        weight: d.weight,
        bias: d.bias,
        training,
        momentum: 0.1,
        eps: EPS,
        layout,
        ...outs(d, o),
      },
    ],
    ...extra,
  });
}

// RMSNorm with a weight over the last dimension, PyTorch's default eps (float32 epsilon).
function rms(shape, extra = {}) {
  return base('rmsNorm', 'RMS', shape, {
    params: last(shape),
    args: (d, o) => [d.input, [last(shape)], { weight: d.weight, ...outs(d, o) }],
    ...extra,
  });
}

function gn(shape, groups, layout, extra = {}) {
  return base('groupNorm', `GN G=${groups} ${tag(layout)}`, shape, {
    layout,
    peer: { groups },
    args: (d, o) => [
      d.input,
      groups,
      { weight: d.weight, bias: d.bias, eps: EPS, layout, ...outs(d, o) },
    ],
    ...extra,
  });
}

// InstanceNorm with affine parameters and no running statistics (InstanceNorm2d({ affine: true })).
function inorm(shape, layout, extra = {}) {
  return base('instanceNorm', `IN2d ${tag(layout)}`, shape, {
    layout,
    args: (d, o) => [d.input, { weight: d.weight, bias: d.bias, eps: EPS, layout, ...outs(d, o) }],
    ...extra,
  });
}

// The fused residual ops: read input and residual, write out and sum (4 streams). `pair` is the
// unfused pair: the add into d.sumOut, then the plain norm of d.sumOut into d.out.
function addLn(shape, extra = {}) {
  const ns = [last(shape)];
  return base('addLayerNorm', 'Add+LN', shape, {
    id: 'addlayernorm',
    params: last(shape),
    inputs: 2,
    streams: 4,
    args: (d, o) => [
      d.input,
      d.residual,
      ns,
      { weight: d.weight, bias: d.bias, eps: EPS, ...sumOuts(d, o) },
    ],
    pair: {
      op: 'layerNorm',
      args: (d, o) => [d.sum, ns, { weight: d.weight, bias: d.bias, eps: EPS, ...outs(d, o) }],
    },
    ...extra,
  });
}

function addRms(shape, extra = {}) {
  const ns = [last(shape)];
  return base('addRmsNorm', 'Add+RMS', shape, {
    id: 'addrmsnorm',
    params: last(shape),
    inputs: 2,
    streams: 4,
    args: (d, o) => [d.input, d.residual, ns, { weight: d.weight, ...sumOuts(d, o) }],
    pair: {
      op: 'rmsNorm',
      args: (d, o) => [d.sum, ns, { weight: d.weight, ...outs(d, o) }],
    },
    ...extra,
  });
}

const CF = 'channels_first';
const CL = 'channels_last';
const BIG = [32, 64, 56, 56];
const SMALL = [8, 256, 14, 14];
// Out of cache: 512 MiB inputs ([174762, 768], [32768, 4096]) and 392 MiB ([512, 64, 56, 56]),
// far beyond a 32 MiB last-level cache, so every call streams the input from memory and the
// output back to it, as the streaming-store copy does.
const HUGE = [512, 64, 56, 56];
const ROWS_768 = [174762, 768];
const ROWS_4096 = [32768, 4096];
const out = (targets) => ({ large: true, outOfCache: true, targets });

const CASES = [
  ln([8192, 768], { large: true, targets: [copyRatio(0.85)] }),
  ln([2048, 4096], { large: true, targets: [copyRatio(0.85)] }),
  ln([512, 1024]),
  ln([64, 128]),
  bn(BIG, true, CF, { large: true, targets: [copyTime(1.25)] }),
  bn(BIG, true, CL, { large: true, targets: [copyTime(1.5)] }),
  bn(BIG, false, CF, { large: true, targets: [copyRatio(0.85)] }),
  bn(BIG, false, CL, { large: true, targets: [copyRatio(0.85)] }),
  bn(SMALL, true, CF),
  bn(SMALL, true, CL),
  bn(SMALL, false, CF, { targets: [copyRatio(0.85)] }),
  bn(SMALL, false, CL, { targets: [copyRatio(0.85)] }),
  bn([65536, 64], true, CF, { large: true, targets: [copyRatio(0.85)] }),
  rms([8192, 768], { large: true, targets: [copyRatio(0.85)] }),
  rms([2048, 4096], { large: true }),
  gn(BIG, 32, CF, { large: true, targets: [copyRatio(0.85)] }),
  gn(BIG, 32, CL, { large: true, targets: [copyRatio(0.85)] }),
  inorm(BIG, CF, { large: true }),
  inorm(BIG, CL, { large: true }),
  addLn([8192, 768], { large: true, targets: [pairRatio(1.2)] }),
  addRms([8192, 768], { large: true, targets: [pairRatio(1.2)] }),
  ln(ROWS_768, out([limitRatio(0.85)])),
  ln(ROWS_4096, out([limitRatio(0.85)])),
  bn(HUGE, true, CF, out([limitRatio(0.75)])),
  bn(HUGE, true, CL, out([limitRatio(0.6)])),
  bn(HUGE, false, CF, out([limitRatio(0.9)])),
  bn(HUGE, false, CL, out([limitRatio(0.9)])),
  rms(ROWS_768, out([limitRatio(0.85)])),
  rms(ROWS_4096, out([limitRatio(0.85)])),
  gn(HUGE, 32, CF, out([limitRatio(0.9)])),
  gn(HUGE, 32, CL, out([limitRatio(0.9)])),
  // Issue 7's small-call targets, validation included.
  ln([1, 768], { kind: 'latency', targets: [latencyUs(0.5)] }),
  bn([1, 64, 1, 1], false, CF, { kind: 'latency', targets: [latencyUs(0.6)] }),
];

module.exports = { CASES, SCALING_MIN };
