// Prints 1 when the C++ compiler node-gyp will use can build and link an OpenMP program, else 0.
// binding.gyp calls this so that a compiler without OpenMP still builds normkit, single-threaded.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const cxx = process.env.CXX || 'c++';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'normkit-omp-'));
const src = path.join(dir, 'omp.cc');
fs.writeFileSync(src, '#include <omp.h>\nint main() { return omp_get_max_threads() > 0 ? 0 : 1; }\n');
let ok = false;
try {
  execFileSync(cxx, ['-fopenmp', src, '-o', path.join(dir, 'omp')], { stdio: 'ignore' });
  ok = true;
} catch {
  ok = false;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(ok && process.env.NORMKIT_NO_OPENMP !== '1' ? '1' : '0');
