'use strict';

// The bench cases (all float32). `kind` is 'throughput' (one call per sample, preallocated
// output where the implementation takes one) or 'latency' (many calls per sample, µs per call,
// the plain allocating call). `large` cases carry the thread-scaling target. Targets are checked
// on the normkit row at all cores.

const copyRatio = (min) => ({ type: 'copyRatio', min });
const copyTime = (max) => ({ type: 'copyTime', max });
const latencyUs = (max) => ({ type: 'latencyUs', max });

const SCALING_MIN = 1.6;

const dims = (shape) => shape.join('x');
const show = (shape) => `[${shape.join(',')}]`;

function ln(shape, extra = {}) {
  const kind = extra.kind || 'throughput';
  const short = kind === 'latency' ? 'LN latency' : 'LN';
  return {
    id: `ln${kind === 'latency' ? '-latency' : ''}-${dims(shape)}`,
    name: `${short} ${show(shape)}`,
    short,
    op: 'layerNorm',
    shape,
    kind,
    large: false,
    targets: [],
    ...extra,
  };
}

function bn(shape, training, layout, extra = {}) {
  const kind = extra.kind || 'throughput';
  const rank = shape.length === 2 ? 'BN1d' : 'BN2d';
  const tag = shape.length === 2 ? '' : layout === 'channels_last' ? ' NHWC' : ' NCHW';
  const short =
    kind === 'latency'
      ? `BN ${training ? 'train' : 'eval'} latency`
      : `${rank} ${training ? 'train' : 'eval'}${tag}`;
  return {
    id: `${short.toLowerCase().replace(/ /g, '-')}-${dims(shape)}`,
    name: `${short} ${show(shape)}`,
    short,
    op: 'batchNorm',
    shape,
    training,
    layout,
    kind,
    large: false,
    targets: [],
    ...extra,
  };
}

const CF = 'channels_first';
const CL = 'channels_last';
const BIG = [32, 64, 56, 56];
const SMALL = [8, 256, 14, 14];

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
  ln([1, 768], { kind: 'latency', targets: [latencyUs(1.5)] }),
  bn([1, 64, 1, 1], false, CF, { kind: 'latency' }),
];

module.exports = { CASES, SCALING_MIN };
