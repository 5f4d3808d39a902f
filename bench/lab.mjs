// The training lab's benchmark: training throughput in the worker per backend, how fluid
// the page stays while it trains (long tasks, slider → frame), the time to the end of the
// first epoch, and a 5-epoch run's held-out −ELBO beside the native trainer's on the same
// images. Prints a table and writes target/bench/lab.json. Run by scripts/bench.sh.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { cpus } from 'node:os';
import { openBrowser } from '../tests/e2e/browser.mjs';
import { serveSite } from '../tests/e2e/server.mjs';
import { LOAD_TFJS, USE_TFJS_BACKEND, tfjsAssets } from './tfjs.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SITE = resolve(process.env.LATENTLAB_SITE ?? join(REPO, 'pkg'));
const OUT = join(REPO, 'target', 'bench');
const EPOCHS = Number(process.env.LAB_EPOCHS ?? 5);
const FLUID_SECONDS = Number(process.env.LAB_FLUID_SECONDS ?? 30);
// LAB_ONLY=throughput measures training throughput alone (both networks, both backends);
// LAB_ONLY=memory the long run alone, of LAB_MEMORY_MINUTES (the issue's figure is 30) on
// LAB_MEMORY_BACKEND (webgpu where offered, else cpu, unless set).
const ONLY_THROUGHPUT = process.env.LAB_ONLY === 'throughput';
const ONLY_MEMORY = process.env.LAB_ONLY === 'memory';
// LAB_ONLY=peer: the TensorFlow.js training peer alone (LAB_PEER_SECONDS per line);
// LAB_ONLY=fluidity: long tasks and slider → frame while training, and a model switch.
const ONLY_PEER = process.env.LAB_ONLY === 'peer';
const ONLY_FLUIDITY = process.env.LAB_ONLY === 'fluidity';
// LAB_ONLY=first-epoch: Play → end of the first epoch, per backend, of the network that
// LAB_FIRST_EPOCH_ARCH names (dense unless set), on LAB_FIRST_EPOCH_BACKENDS (cpu,webgpu).
const ONLY_FIRST_EPOCH = process.env.LAB_ONLY === 'first-epoch';
const FIRST_EPOCH_ARCH = process.env.LAB_FIRST_EPOCH_ARCH ?? 'dense';
const FIRST_EPOCH_BACKENDS = (process.env.LAB_FIRST_EPOCH_BACKENDS ?? 'cpu,webgpu').split(',');
const PEER_SECONDS = Number(process.env.LAB_PEER_SECONDS ?? 30);
const ARCHS = ['conv', 'dense'];
/** The CPU engine's thread counts measured: 1 (the single-threaded worker), 2, 4, 8 where the machine has the cores. */
const THREAD_COUNTS = [1, 2, 4, 8].filter((n) => n === 1 || n <= cpus().length);
/** The tfjs backends the peer trains on: wasm and its plain-JS cpu (the CPU class), WebGL and WebGPU. */
const PEER_BACKENDS = ['wasm', 'cpu', 'webgl', 'webgpu'];
/** The relative difference in a loss the check allows between latentlab and the peer. */
const CHECK_TOLERANCE = 1e-3;
const MEMORY_MINUTES = Number(process.env.LAB_MEMORY_MINUTES ?? 3);
const progress = (text) => process.stderr.write(`bench lab: ${text}\n`);
mkdirSync(OUT, { recursive: true });

const quantiles = (values) => {
  const sorted = values.slice().sort((a, b) => a - b);
  const at = (q) => sorted[Math.round((sorted.length - 1) * q)];
  return { median: at(0.5), p10: at(0.1), p90: at(0.9), runs: sorted.length };
};

async function open(url, backend, query = '') {
  const session = await openBrowser({ webgpu: backend === 'webgpu' });
  await session.goto(`${url}?backend=${backend}&model=mnist-vae-2d${query}`);
  await session.run('await window.latentlab.ready;');
  return session;
}

/**
 * Images/s over `seconds` of training at the lab's defaults (batch 100, MNIST, 2-D VAE),
 * conv or dense; on the CPU, `threads` 1 is the single-threaded worker, more the
 * multi-threaded one with that many (the page is cross-origin isolated here).
 */
async function throughput(url, backend, seconds, arch = 'conv', threads = null) {
  const session = await open(url, backend, threads ? `&threads=${threads}` : '');
  try {
    await session.run(`await window.latentlab.lab.start({dataset: "mnist", arch: "${arch}"});`);
    const samples = await session.run(`
      const samples = [];
      const until = performance.now() + ${seconds * 1000};
      let last = window.latentlab.lab.status();
      while (performance.now() < until) {
        await new Promise((r) => setTimeout(r, 1000));
        const now = window.latentlab.lab.status();
        if (now.step > last.step) samples.push(now.imagesPerSecond);
        last = now;
      }
      await window.latentlab.lab.pause();
      return samples;`);
    const { cpuThreads } = await session.run('return window.latentlab.lab.status();');
    return { backend, arch, threads: backend === 'cpu' ? cpuThreads : undefined, ...quantiles(samples) };
  } finally {
    await session.close();
  }
}

/** Long tasks on the main thread and slider → frame while the lab trains (CPU). */
async function fluidity(url) {
  const session = await open(url, 'cpu');
  try {
    await session.run(`window.longTasks = [];
      new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => e.duration)))
        .observe({ type: 'longtask', buffered: false });`);
    await session.run('await window.latentlab.lab.start({dataset: "mnist"});');
    const frames = await session.run(`
      const slider = document.getElementById('slider-0');
      const canvas = document.getElementById('slider-decode');
      const times = [];
      const until = performance.now() + ${FLUID_SECONDS * 1000};
      while (performance.now() < until) {
        const value = (Math.random() * 4 - 2).toFixed(2);
        const t0 = performance.now();
        slider.value = value;
        slider.dispatchEvent(new Event('input', { bubbles: true }));
        for (;;) {
          await new Promise((r) => requestAnimationFrame(r));
          const z = JSON.parse(canvas.dataset.z || 'null');
          if (z && Math.abs(z[0][0] - Number(value)) < 1e-6) break;
        }
        times.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 200));
      }
      return times;`);
    const long = await session.run('await window.latentlab.lab.pause(); return window.longTasks;');
    // A model switch while nothing trains: the longest main-thread task.
    await session.run('window.longTasks = []; await window.latentlab.use("fashion-mnist-vae-2d");');
    const switchTasks = await session.run('return window.longTasks;');
    return {
      slider: quantiles(frames),
      longestTask: Math.max(0, ...long),
      tasksOver50: long.filter((d) => d > 50).length,
      longestSwitchTask: Math.max(0, ...switchTasks),
    };
  } finally {
    await session.close();
  }
}

/** Trains EPOCHS epochs in the page; returns the time to the first epoch and the result. */
async function epochs(url, backend, arch = 'conv', count = EPOCHS) {
  const session = await open(url, backend);
  try {
    const started = Date.now();
    await session.run(`await window.latentlab.lab.start({dataset: "mnist", seed: 42, arch: "${arch}"});`);
    let firstEpochSeconds = null;
    for (;;) {
      const status = await session.run('await new Promise((r) => setTimeout(r, 500)); return window.latentlab.lab.status();');
      if (firstEpochSeconds === null && status.epoch >= 1) firstEpochSeconds = (Date.now() - started) / 1000;
      if (status.epoch >= count || status.state !== 'running') break;
    }
    await session.run('await window.latentlab.lab.pause(); await window.latentlab.lab.use();');
    const line = await session.run('return document.querySelector("[data-testid=lab-used]").textContent;');
    const heldout = Number(/held-out −ELBO ([\d.]+)/.exec(line)?.[1]);
    const status = await session.run('return window.latentlab.lab.status();');
    return { backend, arch, firstEpochSeconds, epochs: status.epoch, heldoutNegElbo: heldout, seconds: (Date.now() - started) / 1000 };
  } finally {
    await session.close();
  }
}

/**
 * Memory over a long run: the page's and the worker's wasm memory and the page's JS heap
 * after a minute of training and at the end, sampled every 30 s. On WebGPU where the
 * browser offers it (burn has reported GPU memory growing during training on wgpu), else
 * on the CPU; the dense network, whose quick steps make the most allocations per minute.
 */
async function memory(url, minutes) {
  const flags = ['--js-flags=--expose-gc', '--enable-precise-memory-info'];
  let backend = process.env.LAB_MEMORY_BACKEND;
  if (!backend) {
    const probe = await openBrowser({ webgpu: true });
    await probe.goto(`${url}?backend=cpu`);
    backend = (await probe.run('return !!(navigator.gpu && await navigator.gpu.requestAdapter());')) ? 'webgpu' : 'cpu';
    await probe.close();
  }
  const session = await openBrowser({ webgpu: backend === 'webgpu', extraArgs: flags });
  try {
    await session.goto(`${url}?backend=${backend}&model=mnist-vae-2d`);
    await session.run('await window.latentlab.ready;');
    await session.run('await window.latentlab.lab.start({dataset: "mnist", arch: "dense"});');
    const samples = [];
    const started = Date.now();
    while (Date.now() - started < minutes * 60000) {
      await new Promise((r) => setTimeout(r, 30000));
      samples.push(await session.run(`if (window.gc) window.gc();
        const status = window.latentlab.lab.status();
        return { seconds: args[0], step: status.step, worker: status.memoryBytes, page: window.latentlab.wasmMemoryBytes(),
                 heap: performance.memory?.usedJSHeapSize ?? null };`, (Date.now() - started) / 1000));
      progress(`memory: ${JSON.stringify(samples.at(-1))}`);
    }
    await session.run('await window.latentlab.lab.pause();');
    const after1 = samples.find((s) => s.seconds >= 60) ?? samples[0];
    return { backend, minutes, first: after1, last: samples.at(-1), samples };
  } finally {
    await session.close();
  }
}

/** One repeatable training step per network, written by the native build (see `export-training-check`). */
function trainingChecks() {
  const checks = {};
  for (const arch of ARCHS) {
    const file = join(OUT, `training-check-${arch}.json`);
    execFileSync(join(REPO, 'target', 'release', 'latentlab'), ['export-training-check', '--arch', arch, '--out', file], { cwd: REPO });
    checks[arch] = { file, native: JSON.parse(readFileSync(file, 'utf8')) };
  }
  return checks;
}

/**
 * The peer: TensorFlow.js training the same networks from the same parameters, at the
 * same batch, with the same loss and Adam, in the same browser, on each of its backends.
 * First the check (from the same weights, one step on the same batch with the same ε: the
 * loss terms before and after must match the native step's), then images/s.
 */
async function peerTraining(url, checks) {
  const lines = [];
  // A session per tfjs backend: a backend that brings the tab down loses its own lines only.
  for (const backend of PEER_BACKENDS) {
    const session = await openBrowser({ webgpu: true, bypassCSP: true });
    try {
      await session.goto(`${url}?backend=cpu&model=mnist-vae-2d`);
      await session.run('await window.latentlab.ready;');
      await session.run(LOAD_TFJS);
      if (!(await session.run(USE_TFJS_BACKEND, backend))) {
        for (const arch of ARCHS) lines.push({ arch, backend, error: 'not available in this browser' });
        continue;
      }
      for (const arch of ARCHS) {
        progress(`peer: tfjs ${backend}, ${arch}`);
        const result = await session.run(`
          window.peerCheck = await (await fetch('bench/training-check-${arch}.json')).json();
          let trainer;
          try {
            trainer = window.buildPeerTrainer(tf, window.peerCheck);
            const check = await trainer.check();
            const times = [];
            await trainer.train(1);
            const started = performance.now();
            for (let i = 2; times.length < 30 && (times.length < 3 || performance.now() - started < args[0]); i++) {
              const t0 = performance.now();
              await trainer.train(i);
              times.push(performance.now() - t0);
            }
            return { check, times };
          } catch (e) {
            return { error: String(e.message ?? e).split('\\n')[0] };
          } finally {
            trainer?.dispose();
          }`, PEER_SECONDS * 1000).catch((error) => ({ error: `the browser tab failed (${error.message.split('\n')[0]})` }));
        lines.push(peerLine(arch, backend, result, checks[arch].native));
        progress(`peer: ${JSON.stringify(lines.at(-1).error ?? lines.at(-1).median)}`);
        if (result.error?.startsWith('the browser tab failed')) break;
      }
    } finally {
      await session.close().catch(() => {});
    }
  }
  return lines;
}

/** A peer run's line: images/s, and how far its check lands from the native step's losses. */
function peerLine(arch, backend, result, native) {
  if (result.error) return { arch, backend, error: result.error };
  const relative = (ours, theirs) => Math.abs(ours - theirs) / Math.max(Math.abs(ours), 1e-6);
  const total = (t) => t.reconstruction + native.beta * t.kl;
  const differences = {
    before: relative(total(native.before), total(result.check.before)),
    step: relative(total(native.before), result.check.stepLoss),
    after: relative(total(native.after), total(result.check.after)),
  };
  return {
    arch, backend, check: result.check, differences,
    checkPassed: Math.max(...Object.values(differences)) <= CHECK_TOLERANCE,
    ...quantiles(result.times.map((ms) => (1000 * native.batch) / ms)),
  };
}

/** The native trainer on the same 10,000 images, evaluated on the same 1,000 held-out images. */
function native() {
  const started = Date.now();
  const out = join(OUT, 'native-lab-comparison');
  const text = execFileSync(join(REPO, 'target', 'release', 'latentlab'), [
    'train', '--dataset', 'mnist', '--latent', '2', '--epochs', String(EPOCHS), '--seed', '42',
    '--test-limit', '1000', '--name', 'lab-comparison', '--out-dir', out, '--checkpoint-dir', join(out, 'checkpoints'),
  ], { cwd: REPO, encoding: 'utf8' });
  const manifest = JSON.parse(readFileSync(join(out, 'lab-comparison.json'), 'utf8'));
  const seconds = manifest.training.wall_time_seconds;
  progress(text.trim());
  return { heldoutNegElbo: manifest.test_metrics.neg_elbo, imagesPerSecond: (EPOCHS * manifest.training.train_images) / seconds, seconds: (Date.now() - started) / 1000 };
}

function sizes() {
  const files = {};
  for (const name of readdirSync(SITE)) {
    if (/\.wasm$/.test(name)) {
      const bytes = readFileSync(join(SITE, name));
      files[name] = { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, loaded: name.startsWith('lab-worker') ? 'when the lab opens' : name.startsWith('engine-worker') ? 'with the page, in the engine worker' : 'with the page' };
    }
  }
  for (const name of readdirSync(join(SITE, 'data'))) {
    files[`data/${name}`] = { raw: readFileSync(join(SITE, 'data', name)).length, loaded: 'when a lab run on it starts' };
  }
  return files;
}

const checks = ONLY_MEMORY || ONLY_FLUIDITY || ONLY_FIRST_EPOCH ? {} : trainingChecks();
const site = await serveSite(SITE, '/bench/', {
  ...tfjsAssets(REPO),
  ...Object.fromEntries(Object.entries(checks).map(([arch, c]) => [`bench/training-check-${arch}.json`, readFileSync(c.file)])),
});
const results = { sizes: sizes() };
try {
  if (ONLY_FLUIDITY) {
    progress('fluidity while training (CPU)');
    results.fluidity = await fluidity(site.url);
  }
  if (ONLY_FIRST_EPOCH) {
    results.firstEpochs = [];
    for (const backend of FIRST_EPOCH_BACKENDS) {
      progress(`first epoch of the ${FIRST_EPOCH_ARCH} network, ${backend}`);
      results.firstEpochs.push(await epochs(site.url, backend, FIRST_EPOCH_ARCH, 1).catch((e) => ({ backend, arch: FIRST_EPOCH_ARCH, error: e.message })));
    }
  }
  const partOnly = ONLY_PEER || ONLY_THROUGHPUT || ONLY_FLUIDITY || ONLY_FIRST_EPOCH;
  if (ONLY_MEMORY || (!partOnly && MEMORY_MINUTES > 0)) {
    progress(`memory over ${MEMORY_MINUTES} minutes of training`);
    results.memory = await memory(site.url, MEMORY_MINUTES);
  }
  if (!ONLY_MEMORY && (!partOnly || ONLY_THROUGHPUT)) {
    results.throughput = [];
    for (const threads of THREAD_COUNTS) {
      progress(`throughput, CPU, ${threads} thread(s)`);
      results.throughput.push(await throughput(site.url, 'cpu', 40, 'conv', threads), await throughput(site.url, 'cpu', 30, 'dense', threads));
    }
    progress('throughput, WebGPU');
    for (const arch of ARCHS) {
      try {
        results.throughput.push(await throughput(site.url, 'webgpu', 60, arch));
      } catch (error) {
        results.throughput.push({ backend: 'webgpu', arch, error: String(error.message ?? error) });
      }
    }
  }
  if (!ONLY_MEMORY && (!partOnly || ONLY_THROUGHPUT || ONLY_PEER)) {
    results.peer = await peerTraining(site.url, checks);
    results.nativeSteps = Object.fromEntries(ARCHS.map((arch) => [arch, { threads: checks[arch].native.native_threads, ...checks[arch].native.native_step_ms }]));
  }
  if (!ONLY_MEMORY && !partOnly) {
    progress('fluidity while training (CPU)');
    results.fluidity = await fluidity(site.url);
    progress(`${EPOCHS} epochs in the page (CPU)`);
    results.browser = await epochs(site.url, 'cpu');
    progress(`${EPOCHS} epochs natively`);
    results.native = native();
  }
} finally {
  site.close();
}

writeFileSync(join(OUT, 'lab.json'), JSON.stringify(results, null, 2));
const f = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '—');
const lines = [];
if (results.throughput || results.peer) {
  // Images/s per network and backend: latentlab in its worker, the tfjs peer, the native trainer.
  const PEER_CLASS = { cpu: ['wasm', 'cpu'], webgpu: ['webgpu', 'webgl'] };
  lines.push('| training images/s (batch 100, 2-D VAE) | who | backend | median | p10–p90 | runs | ours ÷ tfjs (same class) |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const arch of ARCHS) {
    for (const t of (results.throughput ?? []).filter((t) => t.arch === arch)) {
      if (t.error) { lines.push(`| ${arch} | latentlab | ${t.backend} | failed: ${t.error} | | | |`); continue; }
      const ratios = PEER_CLASS[t.backend].map((b) => (results.peer ?? []).find((p) => p.arch === arch && p.backend === b && !p.error))
        .filter(Boolean).map((p) => `${(t.median / p.median).toFixed(2)} (tfjs ${p.backend})`);
      const on = t.threads ? `${t.backend}, ${t.threads} thread${t.threads > 1 ? 's' : ''}` : t.backend;
      lines.push(`| ${arch} | latentlab (lab worker) | ${on} | ${f(t.median)} | ${f(t.p10)}–${f(t.p90)} | ${t.runs} | ${ratios.join(', ')} |`);
    }
    for (const p of (results.peer ?? []).filter((p) => p.arch === arch)) {
      lines.push(p.error ? `| ${arch} | tfjs | ${p.backend} | cannot train: ${p.error} | | | |`
        : `| ${arch} | tfjs (page) | ${p.backend} | ${f(p.median)} | ${f(p.p10)}–${f(p.p90)} | ${p.runs} | |`);
    }
    const n = results.nativeSteps?.[arch];
    if (n) lines.push(`| ${arch} | native trainer | flex, ${n.threads} threads | ${f(100000 / n.median)} | ${f(100000 / n.p90)}–${f(100000 / n.p10)} | ${n.runs} | |`);
  }
  const checked = (results.peer ?? []).filter((p) => p.check);
  if (checked.length) {
    const loss = (t) => t.reconstruction + (checks.conv?.native.beta ?? 1) * t.kl;
    lines.push('', `| the peer's check: one step from the same weights, same batch and ε | tfjs backend | loss before, ours / tfjs | loss after one Adam step, ours / tfjs | largest relative difference | within ${CHECK_TOLERANCE} |`, '| --- | --- | --- | --- | --- | --- |');
    for (const p of checked) {
      const native = checks[p.arch].native;
      lines.push(`| ${p.arch} | ${p.backend} | ${f(loss(native.before), 3)} / ${f(loss(p.check.before), 3)} | ${f(loss(native.after), 3)} / ${f(loss(p.check.after), 3)} | ${Math.max(...Object.values(p.differences)).toExponential(1)} | ${p.checkPassed ? 'yes' : 'NO'} |`);
    }
  }
  lines.push('');
}
lines.push('| measure | backend | median | p10–p90 | runs |', '| --- | --- | --- | --- | --- |');
const fl = results.fluidity;
if (fl) {
  lines.push(`| slider input → frame while training | cpu | ${f(fl.slider.median)} ms | ${f(fl.slider.p10)}–${f(fl.slider.p90)} ms | ${fl.slider.runs} |`);
  lines.push(`| longest main-thread task while training (${FLUID_SECONDS} s) | cpu | ${f(fl.longestTask, 0)} ms | ${fl.tasksOver50} tasks > 50 ms | |`);
  // The observer reports tasks over 50 ms only.
  lines.push(`| longest main-thread task, model switch | cpu | ${fl.longestSwitchTask ? `${f(fl.longestSwitchTask, 0)} ms` : 'none over 50 ms'} | | |`);
}
for (const e of results.firstEpochs ?? []) {
  lines.push(`| Play → end of the first epoch (MNIST, 10,000 images, ${e.arch}) | ${e.backend} | ${e.error ? `failed: ${e.error}` : `${f(e.firstEpochSeconds)} s`} | | |`);
}
if (results.browser) {
  lines.push(`| Play → end of the first epoch (MNIST, 10,000 images) | cpu | ${f(results.browser.firstEpochSeconds)} s | | |`);
  lines.push(`| held-out −ELBO after ${EPOCHS} epochs, browser | cpu | ${f(results.browser.heldoutNegElbo, 2)} | | |`);
  lines.push(`| held-out −ELBO after ${EPOCHS} epochs, native trainer | flex, 2 threads | ${f(results.native.heldoutNegElbo, 2)} (${f(results.native.imagesPerSecond, 0)} images/s) | | |`);
}
const m = results.memory;
if (m) {
  const mb = (bytes) => (typeof bytes === 'number' ? `${(bytes / 1048576).toFixed(1)} MB` : '—');
  lines.push('', `| memory over ${m.minutes} min of training (${m.backend}, dense) | at ${f(m.first.seconds, 0)} s (step ${m.first.step}) | at ${f(m.last.seconds, 0)} s (step ${m.last.step}) |`, '| --- | --- | --- |');
  lines.push(`| worker wasm memory | ${mb(m.first.worker)} | ${mb(m.last.worker)} |`);
  lines.push(`| page wasm memory | ${mb(m.first.page)} | ${mb(m.last.page)} |`);
  lines.push(`| page JS heap | ${mb(m.first.heap)} | ${mb(m.last.heap)} |`);
}
lines.push('', '| file | raw | gzip | loaded |', '| --- | --- | --- | --- |');
for (const [name, s] of Object.entries(results.sizes)) {
  lines.push(`| ${name} | ${(s.raw / 1024).toFixed(0)} KB | ${s.gzip ? `${(s.gzip / 1024).toFixed(0)} KB` : '(gzip inside)'} | ${s.loaded} |`);
}
const table = lines.join('\n');
writeFileSync(join(OUT, 'lab.md'), `${table}\n`);
console.log(table);
