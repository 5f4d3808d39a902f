// End-to-end: the multi-threaded CPU engines. Where the page is cross-origin isolated
// (this server sends COOP/COEP, as scripts/serve.sh does) the lab trains on the threaded
// worker and says how many threads it has; a seeded run's steps there equal the
// single-threaded worker's; the views decode on the threaded engine (this browser's WebGPU
// has no hardware adapter) and draw what one thread draws; without isolation, or when the
// threads do not start, the single-threaded workers compute and the page says why.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBrowser } from './browser.mjs';
import { ISOLATION, useSite } from './server.mjs';
import { labWorkerLoaders, recordWorkers } from './site.mjs';
import { decode, meanAbsDiff, readCanvas, waitForModel } from './page.mjs';

const site = useSite('/threads/');
const plainSite = useSite('/threads-plain/', () => ({}), { isolated: false });
// Isolated, but the threads cannot start, as when a browser hangs in starting nested
// workers: wasm-bindgen-rayon's helper script is imported by the workers as usual, but the
// copy it fetches of itself to start each thread from never arrives.
const stuckSite = useSite('/threads-stuck/', (root) => {
  const snippets = join(root, 'snippets');
  const helper = readdirSync(snippets).map((dir) => `snippets/${dir}/src/workerHelpers.no-bundler.js`).find((path) => existsSync(join(root, path)));
  assert.ok(helper, 'the site has wasm-bindgen-rayon\'s helper script');
  const script = readFileSync(join(root, helper));
  return {
    [helper]: (request, response) => {
      if (request.headers['sec-fetch-dest'] === 'empty') return; // fetch(), not an import: never answered
      response.writeHead(200, { 'content-type': 'text/javascript', ...ISOLATION }).end(script);
    },
  };
});

const RUN = '{dataset: "mnist", classes: [0, 1], batch: 64, lr: 0.003, seed: 5, arch: "conv"}';
const Z = [[0.4, -0.7], [-1.1, 0.9], [1.5, 0.2]];
const text = (session, testid) => session.run(`return document.querySelector("[data-testid=${testid}]")?.textContent ?? "";`);

/**
 * Opens `url`, trains 12 steps of the seeded run, puts the model on show and returns its
 * decodes of Z, its status, and the lab workers started.
 */
async function train(url, options = {}) {
  const session = await openBrowser(options);
  try {
    await session.page.addInitScript(recordWorkers);
    await session.goto(url);
    await session.run('await window.latentlab.ready;');
    await session.run(`await window.latentlab.lab.start(${RUN}); await window.latentlab.lab.pause();`);
    const first = await session.run('return window.latentlab.lab.status();');
    const status = await session.run(`return await window.latentlab.lab.step(${12 - first.step});`);
    await session.run('await window.latentlab.lab.use();');
    return {
      status,
      decoded: await decode(session, Z),
      isolated: await session.run('return window.crossOriginIsolated;'),
      workers: await session.run('return window.pageWorkers.map((w) => w.scriptURL.split("/").pop());'),
      threadsLine: await text(session, 'lab-threads'),
      statusLine: await text(session, 'lab-status'),
      cores: await session.run('return navigator.hardwareConcurrency;'),
      backendWhy: await session.run('return document.querySelector("[data-testid=backend-why] .note")?.textContent ?? "";'),
    };
  } finally {
    await session.close();
  }
}

describe('the lab\'s multi-threaded CPU engine', () => {
  test('isolated: the threaded worker trains, says its threads, and its steps equal the single-threaded worker\'s', async (t) => {
    const loaders = labWorkerLoaders(site.root);
    assert.equal(loaders.length, 2, `the site has both lab workers: ${loaders.join(', ')}`);

    const threaded = await train(`${site.url}?backend=cpu`);
    assert.equal(threaded.isolated, true);
    assert.ok(threaded.workers.some((w) => w.startsWith('lab-worker-threads-')), `workers: ${threaded.workers}`);
    const expected = Math.min(threaded.cores, 16);
    assert.equal(threaded.status.cpuThreads, expected, `${threaded.status.cpuThreads} threads on ${threaded.cores} cores`);
    assert.match(threaded.threadsLine, new RegExp(`trains on ${expected} threads`));
    assert.match(threaded.statusLine, new RegExp(`on the CPU \\(${expected} threads\\)`));
    assert.match(threaded.backendWhy, new RegExp(`The views' CPU engine decodes on ${expected} threads`));

    // threads=1 in the address: the single-threaded worker, the same seeded run.
    const single = await train(`${site.url}?backend=cpu&threads=1`);
    assert.ok(single.workers.every((w) => !w.includes('threads')), `workers: ${single.workers}`);
    assert.equal(single.status.cpuThreads, 1);
    assert.match(single.threadsLine, /trains on one thread: the address asks for one thread/);

    assert.equal(threaded.status.step, 12);
    assert.equal(single.status.step, 12);
    // The same weights after the same 12 steps: the threads only share out each batch's work.
    const difference = Math.max(...Z.map((_, i) => meanAbsDiff(threaded.decoded[i], single.decoded[i])));
    t.diagnostic(`decodes after 12 seeded steps, threads vs one thread: mean |difference| ≤ ${difference}`);
    assert.ok(difference < 1e-4, `the threaded run's decodes differ by ${difference}`);
  });

  test('not isolated (no COOP/COEP, no service worker): the single-threaded worker trains and the page says why', async () => {
    const plain = await train(`${plainSite.url}?backend=cpu`, { serviceWorkers: 'block' });
    assert.equal(plain.isolated, false);
    assert.ok(plain.workers.every((w) => !w.includes('threads')), `workers: ${plain.workers}`);
    assert.equal(plain.status.cpuThreads, 1);
    assert.equal(plain.status.step, 12);
    assert.match(plain.threadsLine, /trains on one thread: the page is not cross-origin isolated/);
    assert.match(plain.backendWhy, /The views' CPU engine decodes on one thread/);
  });

  test('isolated, but the threads never start: the page replaces both threaded workers with the single-threaded ones and says why', async () => {
    const stuck = await train(`${stuckSite.url}?backend=cpu`);
    assert.equal(stuck.isolated, true);
    for (const name of ['engine-worker', 'lab-worker']) {
      assert.ok(stuck.workers.some((w) => w.startsWith(`${name}-threads-`)), `the threaded ${name} was started: ${stuck.workers}`);
      assert.ok(stuck.workers.some((w) => w.startsWith(`${name}-`) && !w.includes('threads')), `then the single-threaded one: ${stuck.workers}`);
    }
    assert.equal(stuck.status.cpuThreads, 1);
    assert.equal(stuck.status.step, 12);
    assert.match(stuck.threadsLine, /trains on one thread: its \d+ threads did not start within 6 s in this browser/);
    assert.match(stuck.backendWhy, /decodes on one thread, beside the page: its \d+ threads did not start within 6 s in this browser/);
    assert.equal(stuck.decoded.length, Z.length);
  });

  test('isolated: the views decode on the threaded engine and draw what one thread draws', async () => {
    const GRID = Array.from({ length: 225 }, (_, i) => [(i % 15) / 5 - 1.4, Math.floor(i / 15) / 5 - 1.4]);
    const look = async (query) => {
      const session = await openBrowser();
      try {
        await session.page.addInitScript(recordWorkers);
        await session.goto(`${site.url}?model=mnist-vae-2d${query}`);
        await session.run('await window.latentlab.ready;');
        await waitForModel(session, 'mnist-vae-2d');
        return {
          threads: await session.run('return window.latentlab.engineThreads();'),
          cores: await session.run('return navigator.hardwareConcurrency;'),
          workers: await session.run('return window.pageWorkers.map((w) => w.scriptURL.split("/").pop());'),
          grid: await readCanvas(session, '#latent-grid'),
          decoded: await decode(session, GRID),
          backendWhy: await session.run('return document.querySelector("[data-testid=backend-why] .note")?.textContent ?? "";'),
        };
      } finally {
        await session.close();
      }
    };
    const threaded = await look('');
    const expected = Math.min(threaded.cores, 16);
    assert.ok(threaded.workers.some((w) => w.startsWith('engine-worker-threads-')), `workers: ${threaded.workers}`);
    assert.equal(threaded.threads, expected);
    assert.match(threaded.backendWhy, new RegExp(`decodes on ${expected} threads`));
    const single = await look('&threads=1');
    assert.ok(single.workers.every((w) => !w.includes('threads')), `workers: ${single.workers}`);
    assert.equal(single.threads, 1);
    // Each point is decoded as it would be alone: the same pixels, to the bit.
    assert.ok(threaded.grid.painted > 1000, 'the grid is drawn');
    assert.deepEqual(threaded.grid.grey, single.grid.grey, 'the grids differ');
    assert.deepEqual(threaded.decoded, single.decoded, 'the decodes differ');
  });
});
