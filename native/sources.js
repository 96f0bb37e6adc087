'use strict';
// The addon's C++ sources for binding.gyp: every .cc under native/ (kernels, binding, runtime),
// relative to the package root, sorted. Kernel-only tools (sanitizer, native bench) glob
// native/kernels/*.cc the same way.
const fs = require('fs');
const path = require('path');

function list(dir) {
  const out = [];
  for (const entry of fs.readdirSync(path.join(__dirname, '..', dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...list(rel));
    else if (entry.name.endsWith('.cc')) out.push(rel);
  }
  return out.sort();
}

module.exports = list('native');
