// npm install hook: builds the addon with node-gyp. A failed build does not fail the install:
// normkit then runs on its TypeScript reference backend and warns once at load time. Set
// NORMKIT_REQUIRE_NATIVE=1 to make a failed build fail the install.
'use strict';
const { spawnSync } = require('child_process');

const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const result = spawnSync(process.execPath, [gyp, 'rebuild'], { stdio: 'inherit' });
if (result.status !== 0) {
  const message =
    'normkit: building the native addon failed (see above); the pure TypeScript reference ' +
    'backend will be used. Install a C++17 compiler, python3 and make, then `npm rebuild normkit`.';
  if (process.env.NORMKIT_REQUIRE_NATIVE === '1') {
    console.error(message);
    process.exit(result.status || 1);
  }
  console.warn(message);
}
