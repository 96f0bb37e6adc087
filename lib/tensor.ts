import { markAsUntransferable } from 'worker_threads';
import { invalid, isFloat32Array, lengthOf, readShape } from './validate';

/**
 * A dense float32 tensor: a plain object whose `data` holds `prod(shape)` values in row-major
 * order. Every op takes and returns this shape of object; there is no class. For the ops with a
 * `layout` option, `shape` is the logical `(N, C, ...spatial)` shape however `data` is stored.
 *
 * @example
 * ```js
 * const { numel } = require('normkit');
 * const t = { data: new Float32Array(6), shape: [2, 3] }; // a Tensor
 * console.log(t.data.length === numel(t.shape)); // prints: true
 * ```
 */
export interface Tensor {
  /**
   * The values, `prod(shape)` of them, row-major (C order).
   */
  data: Float32Array;
  /**
   * The dimensions: non-negative integers; `[]` is a scalar of one value.
   */
  shape: readonly number[];
}

/**
 * How the data of a tensor with channels is stored, for the ops and classes with a `layout`
 * option: `'channels_first'`, `(N, C, ...spatial)` (PyTorch's default, NCHW), or
 * `'channels_last'`, `(N, ...spatial, C)` (NHWC). A tensor's `shape` is always the logical
 * `(N, C, ...spatial)` shape; only the order of `data` differs.
 *
 * @example
 * ```js
 * const { tensor, batchNorm } = require('normkit');
 * const nhwc = tensor(new Float32Array(2 * 4 * 4 * 3).map(Math.sin), [2, 3, 4, 4]); // stored (N, H, W, C)
 * console.log(batchNorm(nhwc, { training: true, layout: 'channels_last' }).shape); // prints: [ 2, 3, 4, 4 ]
 * ```
 */
export type Layout = 'channels_first' | 'channels_last';

/**
 * The number of elements of a shape: the product of its dimensions, 1 for the scalar shape `[]`.
 *
 * @param shape - An array of non-negative integers.
 * @returns The product of the dimensions.
 * @throws {@link TypeError} when `shape` is not an array of numbers.
 * @throws {@link RangeError} when a dimension is not a non-negative integer, or the product of the
 *   non-zero dimensions exceeds 2^53 - 1.
 *
 * @example
 * ```js
 * const { numel } = require('normkit');
 * console.log(numel([2, 3, 4]), numel([])); // prints: 24 1
 * ```
 */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of readShape('shape', shape)) n *= d;
  return n;
}

/**
 * Makes a tensor from values and a shape. A `Float32Array` is used as it is (no copy); a plain
 * array or another typed array is copied into a new `Float32Array`.
 *
 * @param values - `prod(shape)` values: a `Float32Array`, an array of numbers, or a typed array
 *   other than the BigInt ones.
 * @param shape - The dimensions: non-negative integers.
 * @returns `{ data, shape }`, with a copy of `shape`.
 * @throws {@link TypeError} when `values` is not an array-like of numbers (a `DataView` or a
 *   BigInt typed array included), or `shape` is not an array of numbers.
 * @throws {@link RangeError} when a dimension is not a non-negative integer, or `values` does not
 *   hold `prod(shape)` values.
 *
 * @example
 * ```js
 * const { tensor } = require('normkit');
 * console.log(tensor([1, 2, 3, 4, 5, 6], [2, 3])); // prints: { data: Float32Array(6) [ 1, 2, 3, 4, 5, 6 ], shape: [ 2, 3 ] }
 * const view = tensor(new Float32Array(12), [3, 4]); // wraps the array, no copy
 * console.log(view.shape); // prints: [ 3, 4 ]
 * ```
 */
export function tensor(values: Float32Array | ArrayLike<number>, shape: readonly number[]): Tensor {
  const dims = readShape('shape', shape);
  let data: Float32Array;
  if (isFloat32Array(values)) {
    data = values;
  } else if (Array.isArray(values) || ArrayBuffer.isView(values)) {
    const tag = Object.prototype.toString.call(values);
    if (
      values instanceof DataView ||
      tag === '[object BigInt64Array]' ||
      tag === '[object BigUint64Array]'
    ) {
      throw invalid('type', 'values', 'a Float32Array or an array of numbers', values);
    }
    data = Float32Array.from(values as ArrayLike<number>);
  } else {
    throw invalid('type', 'values', 'a Float32Array or an array of numbers', values);
  }
  let n = 1;
  for (const d of dims) n *= d;
  if (lengthOf(data) !== n) {
    throw invalid(
      'range',
      'values',
      `${n} values (the product of shape [${dims.join(', ')}])`,
      values,
    );
  }
  return { data, shape: dims };
}

// Small outputs are carved from a shared slab, as Node's Buffer.allocUnsafe does: creating an
// ArrayBuffer costs about 1 µs in Node 20, more than normalizing a 768-value row. Each region is
// handed out once and the slab is never reused, so results never alias each other; a small
// result's `data.buffer` is the slab (copy it with `.slice()` before transferring the buffer).
const SLAB_BYTES = 64 * 1024;
const POOLED_MAX_BYTES = 4 * 1024;
let slab: ArrayBuffer | null = null;
let slabOffset = 0;

/** A new Float32Array of `length` elements for a kernel to fill: pooled when at most 4 KiB, uninitialized above. */
export function allocFloat32(length: number): Float32Array {
  const bytes = length * 4;
  if (bytes === 0) return new Float32Array(0);
  if (bytes > POOLED_MAX_BYTES) {
    // Not zeroed: every kernel writes every output value, and zeroing 25 MB costs as much as
    // normalizing it (an allocating LayerNorm [8192, 768] took 2.3 ms against 0.95 with `out`).
    const b = Buffer.allocUnsafeSlow(bytes);
    return new Float32Array(b.buffer, b.byteOffset, length);
  }
  // A slab whose buffer was transferred away (a pooled result posted to a worker) is replaced,
  // so later calls never carve from a detached buffer.
  if (slab === null || slabOffset + bytes > SLAB_BYTES || slab.byteLength === 0) {
    slab = new ArrayBuffer(SLAB_BYTES);
    // As Node's Buffer pool: transferring a pooled result copies the slab instead of detaching
    // it under the results carved beside it.
    markAsUntransferable(slab);
    slabOffset = 0;
  }
  const view = new Float32Array(slab, slabOffset, length);
  // Offsets advance in whole 64-byte lines, so two results never share a cache line.
  slabOffset += (bytes + 63) & ~63;
  return view;
}
