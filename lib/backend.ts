// The kernel interface both backends implement, derived from the op descriptors: one function per
// op, named by its descriptor's `kernel`, with the positional arguments of its `args` (validated,
// outputs allocated). The native addon's functions have exactly these signatures, so calling the
// native backend adds no wrapper.
import type { KernelArgs } from './op';
import type { OPS } from './ops';

type Ops = typeof OPS;

export type Kernels = {
  [K in keyof Ops as Ops[K]['kernel']]: (...args: KernelArgs<Ops[K]['args']>) => void;
};

/** What the compiled addon exports besides the kernels. */
export interface NativeAddon extends Kernels {
  setNumThreads(threads: number): void;
  getNumThreads(): number;
  hardwareThreads(): number;
  multithreaded(): boolean;
  hasOpenMP(): boolean;
  poolThreads(): number;
  simdPath(): string;
  copyBaseline(x: Float32Array, y: Float32Array, a: number, b: number): void;
}
