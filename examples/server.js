// An HTTP server that normalizes posted batches off the event loop, with the async API.
//
//   node examples/server.js [port]        (default 3000; 0 picks a free port)
//   curl --data-binary @batch.f32 http://localhost:3000/layer-norm > normalized.f32
//   curl http://localhost:3000/ping
//
// POST /layer-norm takes a body of little-endian float32 values, rows of 768 features, and
// answers with the batch after a stack of 4 LayerNorm layers (the norms of a transformer block,
// each with its own weight and bias), in the same format. The layers run with `forwardAsync`,
// on the libuv thread pool, so while a batch is normalized the event loop keeps answering
// /ping and reading other requests. A client that goes away aborts its calls not yet started.
// examples/server-sync.js is the same server with `forward`: each batch blocks the event loop
// for its whole duration. bench/server.js compares the two.
'use strict';
const http = require('node:http');
const { LayerNorm } = require('normkit');

const WIDTH = 768;
const LAYERS = 4;

/** The server's model: `count` LayerNorm layers over `width` features, with distinct weights. */
function makeLayers(width = WIDTH, count = LAYERS) {
  return Array.from({ length: count }, (_, k) => {
    const layer = new LayerNorm(width);
    for (let i = 0; i < width; i++) {
      layer.weight[i] = 1 + 0.1 * Math.sin(i + k);
      layer.bias[i] = 0.01 * k;
    }
    return layer;
  });
}

/** Runs `x` through `layers` off the event loop; the first allocates, the others write in place. */
async function normalizeAsync(layers, x, signal) {
  let y = await layers[0].forwardAsync(x, { signal });
  for (const layer of layers.slice(1)) y = await layer.forwardAsync(y, { out: y.data, signal });
  return y;
}

/** The request body as a Float32Array of its own (chunks arrive at any byte offset). */
function readFloats(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let length = 0;
    req.on('data', (chunk) => {
      chunks.push(chunk);
      length += chunk.length;
    });
    req.on('end', () => {
      if (length % 4 !== 0) return reject(new RangeError(`body of ${length} bytes is not float32`));
      const data = new Float32Array(length / 4);
      const bytes = new Uint8Array(data.buffer);
      let at = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, at);
        at += chunk.length;
      }
      resolve(data);
    });
    req.on('error', reject);
  });
}

/**
 * An `http.Server` whose POST /layer-norm answers with `normalize(x, signal)` for the posted
 * batch `x` (shape [rows, width]), and whose GET /ping answers at once.
 */
function createServer(normalize, width = WIDTH) {
  return http.createServer(async (req, res) => {
    if (req.method === 'GET' && req.url === '/ping') {
      res.end('pong\n');
      return;
    }
    if (req.method !== 'POST' || req.url !== '/layer-norm') {
      res.writeHead(404).end('POST /layer-norm or GET /ping\n');
      return;
    }
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    try {
      const data = await readFloats(req);
      if (data.length % width !== 0) {
        throw new RangeError(`body of ${data.length} values is not rows of ${width}`);
      }
      const y = await normalize({ data, shape: [data.length / width, width] }, controller.signal);
      res.setHeader('content-type', 'application/octet-stream');
      res.end(Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
    } catch (e) {
      if (e.name === 'AbortError') return; // the client went away
      const status = e instanceof TypeError || e instanceof RangeError ? 400 : 500;
      res.writeHead(status).end(`${e.message}\n`);
    }
  });
}

/** Listens on argv[2] (default 3000) and says where, with `label`. */
function serve(server, label) {
  const port = Number(process.argv[2] ?? 3000);
  server.listen(port, '127.0.0.1', () => {
    const at = `http://127.0.0.1:${server.address().port}`;
    console.log(`normkit ${label} server listening on ${at}: POST /layer-norm, GET /ping`);
  });
}

module.exports = { createServer, makeLayers, normalizeAsync, serve, WIDTH };

if (require.main === module) {
  const layers = makeLayers();
  serve(
    createServer((x, signal) => normalizeAsync(layers, x, signal)),
    'async',
  );
}
