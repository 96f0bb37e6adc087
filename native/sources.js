'use strict';
// The addon's C++ sources for binding.gyp, relative to the package root, sorted:
//  - kernels: every .cc under native/kernels/ but the two shared files below, compiled once per
//    SIMD tier (binding.gyp's kernels_<tier> libraries; kernels/tier.h);
//  - common: everything else (binding, runtime, threads, kernels/dispatch.cc, kernels/simd.cc),
//    compiled once for the platform's baseline.
// Kernel-only tools (the sanitizer driver, the native bench, the ARM64 check) use the same lists
// through scripts/kernel-objects.sh.
const fs = require('fs');
const path = require('path');

/** Files of the kernels directory that are not per tier: the tier table and the shared rules. */
const SHARED_KERNEL_FILES = ['native/kernels/dispatch.cc', 'native/kernels/simd.cc'];

function list(dir) {
  const out = [];
  for (const entry of fs.readdirSync(path.join(__dirname, '..', dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...list(rel));
    else if (entry.name.endsWith('.cc')) out.push(rel);
  }
  return out.sort();
}

const all = list('native');
const kernels = all.filter(
  (f) => f.startsWith('native/kernels/') && !SHARED_KERNEL_FILES.includes(f),
);
const common = all.filter((f) => !kernels.includes(f));

module.exports = { all, common, kernels };

// `node native/sources.js kernels` prints a list, one per line (for the shell scripts).
if (require.main === module) {
  console.log(module.exports[process.argv[2] || 'all'].join('\n'));
}
