// The SIMD tiers this machine runs, from what the CPU reports, independently of the addon: what
// the tests expect native.simdPath() to say under each NORMKIT_SIMD.
import * as fs from 'fs';

/** Every tier name simdPath() may report. */
export const TIER_NAMES = ['avx512', 'avx2', 'baseline', 'neon'] as const;

/**
 * The tiers the CPU runs, best first (x86-64 Linux: from /proc/cpuinfo; AArch64: NEON), or null
 * where the tests cannot tell.
 */
export function cpuTiers(): string[] | null {
  if (process.arch === 'arm64') return ['neon'];
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  const flags = new Set(
    (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '')
      .trim()
      .split(/\s+/),
  );
  const tiers: string[] = [];
  if (['avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].every((f) => flags.has(f))) {
    tiers.push('avx512');
  }
  if (flags.has('avx2') && flags.has('fma')) tiers.push('avx2');
  tiers.push('baseline');
  return tiers;
}

/** The tier NORMKIT_SIMD=generic runs: the best without AVX-512 (the old portable path). */
export function genericTier(tiers: string[]): string {
  return tiers.find((t) => t !== 'avx512') ?? tiers[tiers.length - 1];
}
