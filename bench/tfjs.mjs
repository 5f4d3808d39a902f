// TensorFlow.js for the benchmark's peers: the files the bench server serves (pinned in
// bench/package-lock.json) and the snippet that loads them into the latentlab page.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Served paths → file contents: tfjs with its wasm and WebGPU backends, and bench/peer.js. */
export function tfjsAssets(repo) {
  const tfjs = join(repo, 'bench', 'node_modules', '@tensorflow');
  const wasmDist = join(tfjs, 'tfjs-backend-wasm', 'dist');
  return {
    'bench/tf.min.js': readFileSync(join(tfjs, 'tfjs', 'dist', 'tf.min.js')),
    'bench/tf-backend-wasm.min.js': readFileSync(join(wasmDist, 'tf-backend-wasm.min.js')),
    'bench/tf-backend-webgpu.min.js': readFileSync(join(tfjs, 'tfjs-backend-webgpu', 'dist', 'tf-backend-webgpu.min.js')),
    'bench/tfjs-backend-wasm.wasm': readFileSync(join(wasmDist, 'tfjs-backend-wasm.wasm')),
    'bench/tfjs-backend-wasm-simd.wasm': readFileSync(join(wasmDist, 'tfjs-backend-wasm-simd.wasm')),
    'bench/tfjs-backend-wasm-threaded-simd.wasm': readFileSync(join(wasmDist, 'tfjs-backend-wasm-threaded-simd.wasm')),
    'bench/peer.js': readFileSync(join(repo, 'bench', 'peer.js')),
  };
}

/** Page code (for session.run) that loads the assets above; the page needs `bypassCSP`. */
export const LOAD_TFJS = `
  const load = (src) => new Promise((resolve, reject) => {
    const script = document.createElement('script'); script.src = src; script.onload = resolve; script.onerror = () => reject(new Error('could not load ' + src));
    document.head.appendChild(script);
  });
  await load('bench/tf.min.js');
  await load('bench/tf-backend-wasm.min.js');
  await load('bench/tf-backend-webgpu.min.js');
  await load('bench/peer.js');
  tf.wasm.setWasmPaths(new URL('bench/', location.href).href);`;

/** Page code: switches tfjs to backend args[0]; returns whether it runs there. */
export const USE_TFJS_BACKEND = `
  try { if (!(await tf.setBackend(args[0]))) return false; await tf.ready(); } catch (e) { return false; }
  return tf.getBackend() === args[0];`;
