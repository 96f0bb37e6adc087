// Types of the ES module entry (esm/index.mjs): the same names as the CommonJS build, whose
// declarations these re-export, and the whole API as the default export.
import normkit from '../dist/index.js';

export * from '../dist/index.js';
export default normkit;
