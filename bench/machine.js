'use strict';

// What the bench says about the machine (CPU, cores, last-level cache) and which SIMD tier it
// measures: `--tier avx512|avx2|baseline` sets NORMKIT_SIMD for normkit (checked against what
// normkit reports running), DNNL_MAX_CPU_ISA for oneDNN and ATEN_CPU_CAPABILITY for PyTorch, and
// the streaming-store copy uses that tier's vector width. Without --tier every one runs the best
// tier normkit runs, and the peers are limited to it all the same.

const fs = require('fs');
const os = require('os');
const { spawnSync } = require('child_process');

const TIERS = ['avx512', 'avx2', 'baseline'];
// ATEN_CPU_CAPABILITY for each tier ('default' is ATen's build without vector extensions).
const ATEN = { avx512: 'avx512', avx2: 'avx2', baseline: 'default' };
// NORMKIT_SIMD values to try for a tier, in order: the tier's own name, then the name the addon
// used before the tiers were named (`generic`: its AVX2 clone).
const NORMKIT_SIMD = { avx512: ['avx512'], avx2: ['avx2', 'generic'], baseline: ['baseline'] };

function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {
    // not Linux
  }
  const cpus = os.cpus();
  return (cpus[0] && cpus[0].model.trim()) || 'unknown';
}

const sizeBytes = (text) => {
  const m = /^(\d+)\s*([KMG]?)/i.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }[m[2].toUpperCase()];
};

// The largest cache level: Linux sysfs, else getconf (CPUID's figure, which some hypervisors
// report wrong: 508 MiB was seen for a 32 MiB L3). { bytes, level, source } or null.
function lastLevelCache() {
  let best = null;
  for (let i = 0; i < 8; i++) {
    const dir = `/sys/devices/system/cpu/cpu0/cache/index${i}`;
    try {
      const bytes = sizeBytes(fs.readFileSync(`${dir}/size`, 'utf8'));
      const level = Number(fs.readFileSync(`${dir}/level`, 'utf8'));
      if (bytes && (!best || level > best.level)) best = { bytes, level, source: 'sysfs' };
    } catch {
      break;
    }
  }
  if (best) return best;
  for (const level of [4, 3, 2]) {
    const r = spawnSync('getconf', [`LEVEL${level}_CACHE_SIZE`], { encoding: 'utf8' });
    const bytes = r.status === 0 ? Number(r.stdout.trim()) : 0;
    if (bytes > 0) return { bytes, level, source: 'CPUID: a hypervisor may misreport it' };
  }
  return null;
}

function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpuModel(),
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    logicalCpus: cpus.length,
    llc: lastLevelCache(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.arch()} ${os.release()}`,
    node: process.version,
    loadavg: os.loadavg().map((v) => Number(v.toFixed(2))),
  };
}

// What normkit at `where` reports running with NORMKIT_SIMD=value, in a child process (the
// addon decides its tier once per process). { simdPath, warning } or { error }.
function probeNormkit(where, value) {
  const env = { ...process.env };
  if (value !== undefined) env.NORMKIT_SIMD = value;
  const code =
    'const nk = require(process.argv[1]);' +
    "process.stdout.write(nk.native && nk.backend === 'native' ? nk.native.simdPath() : '')";
  const r = spawnSync(process.execPath, ['-e', code, where], { env, encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout) return { error: (r.stderr || '').trim().split('\n')[0] };
  return { simdPath: r.stdout.trim(), warning: (r.stderr || '').trim() || null };
}

// Picks NORMKIT_SIMD for `tier` (null: whatever the environment gives, NORMKIT_SIMD included).
// Returns { tier, env } where env is the NORMKIT_SIMD value to set (undefined: leave the
// environment as it is), or { error } when normkit cannot run the tier here.
function selectTier(where, tier) {
  if (!tier) {
    const p = probeNormkit(where, undefined);
    return p.error ? { error: p.error } : { tier: p.simdPath, env: undefined };
  }
  const tried = [];
  for (const value of NORMKIT_SIMD[tier]) {
    const p = probeNormkit(where, value);
    if (p.simdPath === tier) return { tier, env: value };
    tried.push(`NORMKIT_SIMD=${value} runs ${p.simdPath || p.error || 'nothing'}`);
  }
  return { error: `normkit cannot run tier ${tier} here (${tried.join('; ')})` };
}

module.exports = { TIERS, ATEN, machineInfo, selectTier };
