'use strict';

// onnxruntime-node peer: single-operator models from ../shared/onnx (relative to the repo
// root). It is a dependency of bench/package.json only, installed on first use (deps.js).

const fs = require('fs');
const path = require('path');

const BENCH_DIR = __dirname;
const REPO_ROOT = path.resolve(BENCH_DIR, '..');
const ONNX_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'onnx');
const ORT_DIR = path.join(BENCH_DIR, 'node_modules', 'onnxruntime-node');

// Returns { ort, version } or { error }.
function load() {
  try {
    const ort = require(ORT_DIR);
    const version = (ort.env && ort.env.versions && ort.env.versions.node) || 'unknown';
    return { ort, version };
  } catch (err) {
    return { error: `cannot load onnxruntime-node: ${err.message.split('\n')[0]}` };
  }
}

// The single-operator models, by op (descriptor name): the file for a case, or null where no
// model covers it (layouts, modes or ops without a model).
const MODELS = {
  layerNorm: (c) => `layer_norm_${c.shape[c.shape.length - 1]}.onnx`,
  batchNorm: (c) =>
    !c.training && c.layout === 'channels_first' && c.shape.length === 4
      ? `batch_norm_${c.shape[1]}.onnx`
      : null,
};

// Model file for a case, or null when no model covers it.
function modelFor(c) {
  const file = MODELS[c.op] ? MODELS[c.op](c) : null;
  if (!file) return null;
  const full = path.join(ONNX_DIR, file);
  return fs.existsSync(full) ? full : null;
}

async function createSession(ort, modelPath, threads) {
  return ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

module.exports = { load, modelFor, createSession, ONNX_DIR };
