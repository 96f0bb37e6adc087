/**
 * A dense float32 tensor: `data` holds `prod(shape)` values in row-major order.
 *
 * @example
 * const t: Tensor = { data: new Float32Array(6), shape: [2, 3] };
 */
export interface Tensor {
  data: Float32Array;
  shape: readonly number[];
}

/** Number of elements of a shape (1 for the scalar shape `[]`). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/**
 * Makes a tensor from values and a shape, copying plain arrays into a new `Float32Array`.
 *
 * @example
 * const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
 */
export function tensor(values: Float32Array | ArrayLike<number>, shape: readonly number[]): Tensor {
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  return { data, shape: [...shape] };
}
