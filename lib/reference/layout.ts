// Index of logical element (n, c, s) of (N, C, spatial) data in either storage order.
export function index(
  n: number,
  c: number,
  s: number,
  channels: number,
  spatial: number,
  channelsLast: boolean,
): number {
  return channelsLast ? (n * spatial + s) * channels + c : (n * channels + c) * spatial + s;
}

/**
 * Mean and biased variance in float64 (two passes) of the values at `at(k)`, k < count.
 * A non-finite value makes the variance NaN (and the mean non-finite), as PyTorch's.
 */
export function moments(count: number, at: (k: number) => number): [number, number] {
  let sum = 0;
  for (let k = 0; k < count; k++) sum += at(k);
  const mean = sum / count;
  let sq = 0;
  for (let k = 0; k < count; k++) {
    const d = at(k) - mean;
    sq += d * d;
  }
  return [mean, sq / count];
}
