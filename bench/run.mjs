// latentlab's benchmark: drives headless Chromium against the release site and prints a
// table (and writes target/bench/results.json). Run it with scripts/bench.sh.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { openBrowser } from '../tests/e2e/browser.mjs';
import { serveSite } from '../tests/e2e/server.mjs';
import { LOAD_TFJS, USE_TFJS_BACKEND, tfjsAssets } from './tfjs.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SITE = resolve(process.env.LATENTLAB_SITE ?? join(REPO, 'pkg'));
const OUT = join(REPO, 'target', 'bench');
const MODEL = process.env.BENCH_MODEL ?? 'fashion-mnist-vae-2d';
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = 5;
/** Slow lines (software WebGPU) stop after this long, with at least MIN_RUNS runs. */
const LINE_BUDGET_MS = Number(process.env.BENCH_LINE_BUDGET_MS ?? 60000);
const MIN_RUNS = 5;
/** Single decodes in the CPU memory line (BENCH_DECODES=100000 for the long check). */
const LEAK_DECODES = Number(process.env.BENCH_DECODES ?? 10000);

mkdirSync(OUT, { recursive: true });
/** Chromium flags for the memory lines: a callable gc() and unrounded heap sizes. */
const MEMORY_FLAGS = ['--js-flags=--expose-gc', '--enable-precise-memory-info'];
const progress = (text) => process.stderr.write(`bench: ${text}\n`);

// Φ⁻¹ (Acklam's approximation, ample for choosing the grid's points).
function normalQuantile(p) {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}
const axis = Array.from({ length: 15 }, (_, i) => normalQuantile(0.05 + (0.9 * i) / 14));
const GRID = axis.slice().reverse().flatMap((z2) => axis.map((z1) => [z1, z2]));

/** In-page timing helper, defined once per page. */
const TIMER = `
  window.benchTime = async (work, runs, warmup, budgetMs, minRuns) => {
    // Warm up (a slow line, over 200 ms a run, once only).
    for (let i = 0; i < warmup; i++) {
      const t0 = performance.now();
      await work();
      if (performance.now() - t0 > 200) break;
    }
    const times = [];
    const started = performance.now();
    while (times.length < runs && (times.length < minRuns || performance.now() - started < budgetMs)) {
      const t0 = performance.now();
      await work();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const at = (q) => times[Math.round((times.length - 1) * q)];
    return { median: at(0.5), p10: at(0.1), p90: at(0.9), runs: times.length };
  };`;

async function timeInPage(session, workBody, args = []) {
  return session.run(`${TIMER}
    const work = async () => { ${workBody} };
    return await window.benchTime(work, ${RUNS}, ${WARMUP}, ${LINE_BUDGET_MS}, ${MIN_RUNS});`, ...args);
}

function fileSizes() {
  const sizes = {};
  for (const name of readdirSync(SITE)) {
    if (/\.(wasm|js)$/.test(name)) {
      const bytes = readFileSync(join(SITE, name));
      const what = name.endsWith('.js') ? 'js glue' : name.startsWith('engine-worker') ? 'wasm: the engine worker' : name.startsWith('lab-worker') ? 'wasm: the lab worker' : 'wasm: the page';
      sizes[`${what}: ${name}`] = { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    }
  }
  for (const name of readdirSync(join(SITE, 'models')).sort()) {
    const bytes = readFileSync(join(SITE, 'models', name));
    sizes[`models/${name}`] = { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  }
  return sizes;
}

/** The 15×15 grid on the single-threaded CPU engine (`?threads=1`), beside the CPU line's (every core here). */
async function gridOnOneThread(url) {
  const session = await openBrowser();
  try {
    await session.goto(`${url}?backend=cpu&threads=1&model=${MODEL}`);
    await session.run('await window.latentlab.ready;');
    return { measure: '15×15 grid, one thread', who: 'latentlab', backend: 'cpu', ...(await timeInPage(session, 'await window.latentlab.decode(args[0]);', [GRID])) };
  } finally {
    await session.close();
  }
}

async function measureLatentlab(url, backend, results) {
  // The same session later loads the TensorFlow.js peer into the page: it is not part of
  // the site, so the page's own security policy is set aside for this session.
  const session = await openBrowser({ webgpu: true, extraArgs: MEMORY_FLAGS, bypassCSP: true });
  try {
    await session.goto(`${url}?backend=${backend}&model=${MODEL}`);
    await session.run('await window.latentlab.ready;');
    if (await session.run('return window.latentlab.backend();') !== backend) throw new Error(`page did not start on ${backend}`);
    if (backend === 'cpu') progress(`cpu: the engine decodes on ${await session.run('return window.latentlab.engineThreads();')} thread(s)`);
    progress(`${backend}: single decode`);
    results.push({ measure: 'single decode', who: 'latentlab', backend, ...(await timeInPage(session, 'await window.latentlab.decode([[0.3, -0.2]]);')) });
    progress(`${backend}: grid`);
    results.push({ measure: '15×15 grid', who: 'latentlab', backend, ...(await timeInPage(session, 'await window.latentlab.decode(args[0]);', [GRID])) });
    progress(`${backend}: single encode`);
    const image = await session.run('return Array.from(await window.latentlab.decode([[0.5, 0.5]]));');
    results.push({ measure: 'single encode', who: 'latentlab', backend, ...(await timeInPage(session, 'await window.latentlab.encode(args[0]);', [[image]])) });
    progress(`${backend}: slider`);
    results.push({
      measure: 'slider input → frame', who: 'latentlab', backend,
      ...(await timeInPage(session, `
        const slider = document.getElementById('slider-0');
        const canvas = document.getElementById('slider-decode');
        const value = (Math.random() * 4 - 2).toFixed(2);
        slider.value = value;
        slider.dispatchEvent(new Event('input', { bubbles: true }));
        const target = Number(value);
        for (;;) {
          await new Promise((r) => requestAnimationFrame(r));
          const z = JSON.parse(canvas.dataset.z || 'null');
          if (z && Math.abs(z[0][0] - target) < 1e-6) break;
        }`)),
    });
    progress(`${backend}: main-thread tasks`);
    results.push({ measure: 'longest main-thread task, model switch + grid + 100 slider moves (runs: tasks ≥ 50 ms)', who: 'latentlab', backend, ...(await longestTasks(session)) });
    return session;
  } catch (error) {
    await session.close();
    throw error;
  }
}

/** The page's longest main-thread tasks (Long Tasks API, ≥ 50 ms) while it switches model,
 *  decodes that model's grid, comes back and takes 100 slider moves: the longest (0 when
 *  none reached 50 ms) as median = p10 = p90, and how many there were as runs. */
async function longestTasks(session) {
  const found = await session.run(`
    const tasks = [];
    const observer = new PerformanceObserver((list) => tasks.push(...list.getEntries().map((e) => e.duration)));
    observer.observe({ type: 'longtask' });
    const other = args[0] === 'mnist-vae-2d' ? 'fashion-mnist-vae-2d' : 'mnist-vae-2d';
    await window.latentlab.use(other);
    await window.latentlab.use(args[0]);
    const slider = document.getElementById('slider-0');
    for (let i = 0; i < 100; i++) {
      slider.value = (Math.sin(i) * 2).toFixed(2);
      slider.dispatchEvent(new Event('input', { bubbles: true }));
      await new Promise((r) => requestAnimationFrame(r));
    }
    await new Promise((r) => setTimeout(r, 500));
    observer.disconnect();
    return tasks;`, MODEL);
  const longest = Math.max(0, ...found);
  return { median: longest, p10: longest, p90: longest, runs: found.length };
}

async function measureStartup(url, backend, results) {
  const session = await openBrowser({ webgpu: backend === 'webgpu', extraArgs: MEMORY_FLAGS });
  try {
    await session.cdp('Network.enable');
    await session.cdp('Network.setCacheDisabled', { cacheDisabled: true });
    const times = [];
    const started = Date.now();
    while (times.length < RUNS && (times.length < MIN_RUNS || Date.now() - started < LINE_BUDGET_MS)) {
      await session.goto(`${url}?backend=${backend}&model=${MODEL}&run=${times.length}`);
      times.push(await session.run('await window.latentlab.ready; return performance.now();'));
    }
    times.sort((a, b) => a - b);
    const at = (q) => times[Math.round((times.length - 1) * q)];
    results.push({ measure: 'start-up: navigation → grid painted (cold)', who: 'latentlab', backend, median: at(0.5), p10: at(0.1), p90: at(0.9), runs: times.length });
  } finally {
    await session.close();
  }
}

async function measureMemory(session, backend, decodes) {
  return session.run(`
    const sample = async () => { if (window.gc) window.gc(); return { wasm: await window.latentlab.engineMemoryBytes(), heap: performance.memory?.usedJSHeapSize ?? null }; };
    const before = await sample();
    for (let i = 0; i < ${decodes}; i++) await window.latentlab.decode([[Math.sin(i), Math.cos(i)]]);
    await new Promise((r) => setTimeout(r, 200));
    const after = await sample();
    return { backend: '${backend}', decodes: ${decodes}, before, after };`);
}

async function measureTfjs(session, decoderJson, results) {
  await session.run(`${LOAD_TFJS}
    window.peerParameters = await (await fetch('bench/decoder.json')).json();`);
  const peer = [];
  // tfjs's plain-JS 'cpu' backend is far slower than its wasm one; BENCH_TFJS_CPU=1 adds it.
  for (const backend of ['wasm', 'webgl', 'webgpu', ...(process.env.BENCH_TFJS_CPU ? ['cpu'] : [])]) {
    progress(`tfjs ${backend}`);
    const available = await session.run(USE_TFJS_BACKEND, backend);
    if (available) await session.run('window.peerDecode = window.buildPeerDecoder(tf, window.peerParameters);');
    if (!available) {
      peer.push({ backend, available: false });
      continue;
    }
    // Same pixels as latentlab (checked on the grid), then the timings.
    const maxDifference = await session.run(`
      const ours = await window.latentlab.decode(args[0]);
      const z = tf.tensor(args[0]);
      const theirs = await window.peerDecode(z).data();
      z.dispose();
      let worst = 0; for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
      return worst;`, GRID);
    const single = await timeInPage(session, `const z = tf.tensor([[0.3, -0.2]]); const y = window.peerDecode(z); await y.data(); z.dispose(); y.dispose();`);
    const grid = await timeInPage(session, `const z = tf.tensor(args[0]); const y = window.peerDecode(z); await y.data(); z.dispose(); y.dispose();`, [GRID]);
    results.push({ measure: 'single decode', who: 'tfjs', backend, ...single });
    results.push({ measure: '15×15 grid', who: 'tfjs', backend, ...grid });
    peer.push({ backend, available: true, maxDifference });
  }
  return peer;
}

/** Where single decodes spend their time: Chromium's sampling profiler, self time by function. */
async function profileSingleDecode(session) {
  await session.cdp('Profiler.enable');
  await session.cdp('Profiler.setSamplingInterval', { interval: 100 });
  await session.cdp('Profiler.start');
  await session.run('for (let i = 0; i < 300; i++) await window.latentlab.decode([[Math.sin(i), Math.cos(i)]]);');
  const { profile } = await session.cdp('Profiler.stop');
  const selfSamples = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const name = node.callFrame.functionName || `(${node.callFrame.url ? 'anonymous' : 'native'})`;
    selfSamples.set(name, (selfSamples.get(name) ?? 0) + node.hitCount);
    total += node.hitCount;
  }
  return [...selfSamples.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25)
    .map(([name, hits]) => ({ name, share: hits / total }));
}

/** The native build (`latentlab bench`): burn's flex CPU backend, and its wgpu backend on the
 *  system's GPU (Vulkan, Metal or DX12; Mesa's lavapipe on a machine without one). */
function nativeBench(results) {
  const binary = join(REPO, 'target', 'release', 'latentlab');
  const notes = [];
  for (const backend of ['cpu', 'wgpu']) {
    let report;
    try {
      // Autotune's minimal level: on an H200 it gives the default level's times in a fifth of
      // the start-up (25 s against 2 min); on lavapipe the default level takes many minutes.
      const env = { CUBECL_AUTOTUNE_LEVEL: 'minimal', ...process.env };
      report = JSON.parse(execFileSync(binary, ['bench', '--backend', backend, '--manifest', join(SITE, 'models', `${MODEL}.json`), '--runs', String(Math.max(RUNS, 30))], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] }));
    } catch (error) {
      notes.push(`native ${backend}: ${String(error.stderr || error.message).trim().split('\n').at(-1)}`);
      continue;
    }
    const who = 'native';
    results.push({ measure: 'single decode', who, backend: report.adapter, ...report.decode_single });
    results.push({ measure: '15×15 grid', who, backend: report.adapter, ...report.decode_grid });
    results.push({ measure: 'single encode', who, backend: report.adapter, ...report.encode_single });
    results.push({ measure: 'training step (conv, batch 100)', who, backend: report.adapter, ...report.train_step_conv_batch_100 });
    results.push({ measure: 'training step (dense, batch 100)', who, backend: report.adapter, ...report.train_step_dense_batch_100 });
  }
  return notes;
}

const PEER_OF = { cpu: 'wasm', webgpu: 'webgpu' };
const GOALS = {
  'single decode/webgpu': '≤ 2 ms on a real GPU', '15×15 grid/webgpu': '≤ 16 ms on a real GPU',
  'single decode/cpu': '≤ 10 ms here', '15×15 grid/cpu': '≤ 1.4 s here; ≤ 0.6× one thread\'s',
  'single decode/native': 'Keras 3 ms here', '15×15 grid/native': 'Keras 221 ms here',
  'single decode/native wgpu': '≤ 2 ms on a real GPU', '15×15 grid/native wgpu': '≤ 16 ms on a real GPU',
  'training step (conv, batch 100)/native wgpu': '≤ 20 ms on a real GPU',
  'slider input → frame/cpu': 'p90 ≤ 17 ms', 'slider input → frame/webgpu': 'p90 ≤ 17 ms',
  'longest main-thread task, model switch + grid + 100 slider moves (runs: tasks ≥ 50 ms)/cpu': 'none ≥ 50 ms',
  'longest main-thread task, model switch + grid + 100 slider moves (runs: tasks ≥ 50 ms)/webgpu': 'none ≥ 50 ms',
};
const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function printTable(results, peer, sizes, memory, device) {
  const lines = [];
  lines.push(`latentlab benchmark: model ${MODEL}, ${device}; median (p10–p90) in ms over the runs shown (up to ${RUNS}; a line stops after ${LINE_BUDGET_MS / 1000} s once it has ${MIN_RUNS}), after up to ${WARMUP} warm-up runs (one for a line slower than 200 ms)`);
  lines.push('');
  lines.push('| measure | who | backend | median ms | p10–p90 ms | runs | ours ÷ tfjs (same class) | goal |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    let ratio = '';
    if (r.who === 'latentlab' && PEER_OF[r.backend]) {
      const theirs = results.find((t) => t.who === 'tfjs' && t.backend === PEER_OF[r.backend] && t.measure === r.measure);
      if (theirs) ratio = `${(r.median / theirs.median).toFixed(2)} (tfjs ${PEER_OF[r.backend]})`;
    }
    const goalKey = r.who !== 'native' ? r.backend : r.backend.startsWith('wgpu') ? 'native wgpu' : 'native';
    const goal = GOALS[`${r.measure}/${goalKey}`] ?? '';
    lines.push(`| ${r.measure} | ${r.who} | ${r.backend} | ${ms(r.median)} | ${ms(r.p10)}–${ms(r.p90)} | ${r.runs} | ${ratio} | ${r.who === 'tfjs' ? '' : goal} |`);
  }
  lines.push('');
  lines.push('| tfjs backend | available | max |ours − tfjs| on the grid |');
  lines.push('| --- | --- | --- |');
  for (const p of peer) lines.push(`| ${p.backend} | ${p.available ? 'yes' : 'no'} | ${p.available ? p.maxDifference.toExponential(1) : ''} |`);
  lines.push('');
  lines.push('| memory | decodes | wasm before → after | JS heap before → after |');
  lines.push('| --- | --- | --- | --- |');
  const mb = (b) => (b == null ? '?' : `${(b / 1048576).toFixed(1)} MB`);
  for (const m of memory) lines.push(`| ${m.backend} | ${m.decodes} | ${mb(m.before.wasm)} → ${mb(m.after.wasm)} | ${mb(m.before.heap)} → ${mb(m.after.heap)} |`);
  lines.push('');
  lines.push('| file | raw | gzip |');
  lines.push('| --- | --- | --- |');
  for (const [name, s] of Object.entries(sizes)) lines.push(`| ${name}${s.file ? ` (${s.file})` : ''} | ${(s.raw / 1024).toFixed(0)} KB | ${(s.gzip / 1024).toFixed(0)} KB |`);
  return lines.join('\n');
}

const decoderJson = join(OUT, 'decoder.json');
execFileSync(join(REPO, 'target', 'release', 'latentlab'), ['export-decoder', '--manifest', join(SITE, 'models', `${MODEL}.json`), '--out', decoderJson]);
const site = await serveSite(SITE, '/latentlab/', { ...tfjsAssets(REPO), 'bench/decoder.json': readFileSync(decoderJson) });
const results = [];
const memory = [];
let peer = [];
let profile = null;
let device = 'headless Chromium';
let nativeNotes = [];
try {
  const gpu = await measureLatentlab(site.url, 'webgpu', results).catch((e) => { progress(`no WebGPU line: ${e.message}`); return null; });
  if (gpu) {
    device = await gpu.run('const a = await navigator.gpu.requestAdapter(); const i = a.info ?? {}; return `headless Chromium ${navigator.userAgent.match(/Chrome\\/([\\d.]+)/)?.[1]}, WebGPU adapter: ${[i.vendor, i.architecture, i.description].filter(Boolean).join(" ") || "unknown"}`;');
    progress('webgpu: memory');
    memory.push(await measureMemory(gpu, 'webgpu', 1000));
    await gpu.close();
  }
  const cpu = await measureLatentlab(site.url, 'cpu', results);
  progress('cpu: grid on one thread');
  results.push(await gridOnOneThread(site.url));
  progress('cpu: memory');
  memory.push(await measureMemory(cpu, 'cpu', LEAK_DECODES));
  peer = await measureTfjs(cpu, decoderJson, results);
  if (process.env.BENCH_PROFILE) {
    progress('cpu: profile of single decodes');
    profile = await profileSingleDecode(cpu);
  }
  await cpu.close();
  for (const backend of ['cpu', 'webgpu']) {
    progress(`${backend}: start-up`);
    await measureStartup(site.url, backend, results).catch((e) => progress(`no ${backend} start-up line: ${e.message}`));
  }
  progress('native');
  nativeNotes = nativeBench(results);
} finally {
  site.close();
}
const sizes = fileSizes();
let table = printTable(results, peer, sizes, memory, device);
if (nativeNotes.length) table += `\n\n${nativeNotes.join('\n')}`;
if (profile) {
  table += '\n\nWhere 300 single decodes on the CPU backend spend their time (self time, sampling profiler):\n\n| function | share |\n| --- | --- |\n';
  table += profile.map((p) => `| ${p.name.replace(/\|/g, '\\|').slice(0, 110)} | ${(100 * p.share).toFixed(1)}% |`).join('\n');
}
console.log(table);
writeFileSync(join(OUT, 'results.json'), JSON.stringify({ model: MODEL, device, date: new Date().toISOString(), results, peer, memory, sizes, profile, nativeNotes }, null, 2));
writeFileSync(join(OUT, 'results.md'), `${table}\n`);
progress(`wrote ${join(OUT, 'results.json')} and results.md`);
