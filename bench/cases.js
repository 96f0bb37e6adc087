'use strict';

// The bench cases (all float32), built from the op descriptors (lib/ops/<op>.ts `bench`, through
// dist/ops): each op declares its shapes, options and targets; this file derives the positional
// arguments of the public call from the descriptor's params and options, so it names no op.
// run.js calls every implementation the same way, `impl[op](...args)`, for normkit,
// `normkit.reference` and the plain JS peer (bench/plain.js, the same signatures, for the ops it
// has).
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
//   counts       the op's count arguments (numGroups); layout, training: the options peers need
//   sizes        the kernel's size arguments for the shape (the descriptor's shape rule), which
//                scripts/gen-ops.js turns into the native scaling bench's calls

const path = require('path');

const { OPS } = require(path.join(__dirname, '..', 'dist', 'ops', 'index.js'));

const SCALING_MIN = 1.6;
// The targets' kinds: minima and maxima (lib/op.ts BenchTarget).
const MAXIMA = new Set(['copyTime', 'latencyUs']);

const dims = (shape) => shape.join('x');
const show = (shape) => `[${shape.join(',')}]`;
const last = (shape) => shape[shape.length - 1];
const numel = (shape) => shape.reduce((a, b) => a * b, 1);

// The role of the kernel argument an option fills (input, param, state, output, ...).
const roleOf = (op, arg) => (op.args.find((a) => a.name === arg) || {}).role;

// The public call's positional arguments for case `b` of `op`, from the data d; `input` replaces
// the first tensor (the unfused pair normalizes d.sum). Arrays the op updates are copied with
// o.fresh, outputs passed only with o.withOut; scalars, flags and layouts only where the case
// sets them (the rest at the op's defaults).
function callArgs(op, b, d, o, input) {
  const tensors = [input || d.input, d.residual];
  let t = 0;
  return op.params.map((p) => {
    if (p.kind === 'tensor') return tensors[t++];
    if (p.kind === 'normalizedShape') return [last(b.shape)];
    if (p.kind === 'count') return b.counts[p.name];
    const options = {};
    for (const [key, spec] of Object.entries(op.options)) {
      if (spec.kind !== 'array') {
        if (b.options && key in b.options) options[key] = b.options[key];
        continue;
      }
      const role = roleOf(op, spec.arg);
      if (role === 'output') {
        if (o.withOut) options[key] = d[spec.arg];
      } else if ((b.arrays || ['weight', 'bias']).includes(key) && key in d) {
        options[key] = role === 'state' ? o.fresh(d[key]) : d[key];
      }
    }
    return options;
  });
}

// The descriptor's shape rule on a shape: the kernel's size arguments, and the parameter length.
function shapeSizes(op, b) {
  const tensors = {};
  for (const p of op.params) {
    if (p.kind === 'tensor')
      tensors[p.name] = { data: null, shape: [...b.shape], label: `${p.name}.shape` };
  }
  const snapshot = { tensors, normalizedShape: [last(b.shape)], counts: b.counts || {} };
  const sizes = op.sizes(snapshot);
  return { sizes, params: numel(op.describe(sizes, snapshot).paramShape) };
}

function benchCase(op, b) {
  const prefix =
    b.id ||
    b.label
      .toLowerCase()
      .replace(/[^a-z0-9 ]/g, '')
      .replace(/ /g, '-');
  const inputs = op.params.filter((p) => p.kind === 'tensor').length;
  const outputs = op.args.filter((a) => a.role === 'output').length;
  const layoutKey = Object.keys(op.options).find((k) => op.options[k].kind === 'layout');
  const { sizes, params } = shapeSizes(op, b);
  const pairOp = op.unfused && OPS[op.unfused];
  return {
    id: `${prefix}-${dims(b.shape)}`,
    name: `${b.label} ${show(b.shape)}`,
    short: b.label,
    op: op.name,
    shape: [...b.shape],
    params,
    inputs,
    streams: inputs + outputs,
    kind: b.kind || 'throughput',
    large: Boolean(b.large || b.outOfCache),
    outOfCache: Boolean(b.outOfCache),
    targets: Object.entries(b.targets || {}).map(([type, v]) =>
      MAXIMA.has(type) ? { type, max: v } : { type, min: v },
    ),
    counts: { ...(b.counts || {}) },
    layout: layoutKey ? (b.options && b.options[layoutKey]) || 'channels_first' : undefined,
    training: b.options ? b.options.training : undefined,
    peer: { ...(b.counts || {}) },
    sizes,
    bench: b,
    args: (d, o) => callArgs(op, b, d, o),
    pair: pairOp && {
      op: pairOp.name,
      args: (d, o) => callArgs(pairOp, b, d, o, d.sum),
    },
  };
}

// In-cache throughput cases first, then the out-of-cache ones, then the small calls; in each,
// the plain ops before the fused ones, each in the registry's order.
const GROUP = (c) => (c.kind === 'latency' ? 4 : c.outOfCache ? 2 : 0) + (c.pair ? 1 : 0);
const CASES = Object.values(OPS)
  .flatMap((op) => (op.bench || []).map((b) => benchCase(op, b)))
  .map((c, i) => ({ c, i }))
  .sort((x, y) => GROUP(x.c) - GROUP(y.c) || x.i - y.i)
  .map(({ c }) => c);

module.exports = { CASES, SCALING_MIN };
