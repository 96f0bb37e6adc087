// examples/server.js with the sync API, for comparison (bench/server.js): the same routes and
// layers, but each batch runs its layers with `forward` on the main thread, so the event loop
// answers nothing else, not even GET /ping, until the batch is done.
//
//   node examples/server-sync.js [port]
'use strict';
const { createServer, makeLayers, serve } = require('./server');

const layers = makeLayers();

function normalize(x) {
  let y = layers[0].forward(x);
  for (const layer of layers.slice(1)) y = layer.forward(y, { out: y.data });
  return y;
}

serve(createServer(normalize), 'sync');
