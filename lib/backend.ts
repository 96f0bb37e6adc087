// The kernel interface both backends implement: validated, positional arguments, output
// written into `out`. The native addon's functions have exactly these signatures, so calling
// the native backend adds no wrapper.

export interface Kernels {
  layerNormForward(
    input: Float32Array,
    rows: number,
    cols: number,
    weight: Float32Array | null,
    bias: Float32Array | null,
    eps: number,
    out: Float32Array,
  ): void;
  batchNormForward(
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
  ): void;
}

/** What the compiled addon exports besides the kernels. */
export interface NativeAddon extends Kernels {
  setNumThreads(threads: number): void;
  getNumThreads(): number;
  hardwareThreads(): number;
  hasOpenMP(): boolean;
  simdPath(): string;
  copyBaseline(x: Float32Array, y: Float32Array, a: number, b: number): void;
}
