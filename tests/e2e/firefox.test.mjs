// End-to-end in a second browser engine: Debian's Firefox ESR, headless, driven over
// WebDriver BiDi by puppeteer-core. A small set, kept quick: the explorer, draw → encode →
// interpolate, the letters workshop, and 20 steps of the lab. Where this Firefox offers a
// WebGPU adapter the page may take it; without one it takes the CPU path and says why.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openFirefox } from './browser.mjs';
import { useSite } from './server.mjs';
import { saveScreenshot } from './site.mjs';
import { checkStripEnds, decode, mean, meanAbsDiff, readCanvas, statusText, tiles, waitFor, waitForModel } from './page.mjs';
import { VOWELS, drawnLetter, ring } from './drawings.mjs';

// Served without COOP/COEP: a first visit trains on the single-threaded worker; after a
// reload the site's service worker isolates the page and the threaded workers start. Firefox
// sometimes hangs for good in `new Worker` inside a worker as it starts their threads (about
// 1 start in 35 here); the page then replaces them with the single-threaded ones after 6 s.
const site = useSite('/firefox/', () => ({}), { isolated: false });
const TOLERANCE = 2 / 255;
const EDGE = 1.6448536269514722; // Φ⁻¹(0.95)
const MU = 'document.querySelector("[data-testid=draw-mu]")?.textContent';
const SLIDER_Z = 'JSON.parse(document.getElementById("slider-decode").dataset.z || "null")';

async function open(query = '') {
  const session = await openFirefox();
  await session.goto(`${site.url}${query}`);
  await session.run('await window.latentlab.ready;');
  return session;
}

async function hasWebGpuAdapter(session) {
  return session.run('return !!(navigator.gpu && await navigator.gpu.requestAdapter().catch(() => null));');
}

describe('Firefox ESR (WebDriver BiDi)', () => {
  test('the explorer: the backend is said, the grid is the decoder\'s, sliders and the map answer', async (t) => {
    const session = await open('?model=mnist-vae-2d');
    try {
      await waitForModel(session, 'mnist-vae-2d');
      const backend = await session.run('return window.latentlab.backend();');
      const adapter = await hasWebGpuAdapter(session);
      t.diagnostic(`Firefox ${await session.browser.version()}: WebGPU adapter ${adapter ? 'offered' : 'not offered'}; the page chose ${backend}`);
      assert.ok(['cpu', 'webgpu'].includes(backend), backend);
      if (!adapter) {
        assert.equal(backend, 'cpu');
        assert.match(await session.run('return document.body.textContent;'), /WebGPU is not used/);
      }
      assert.match(await session.run(`return ${statusText};`), /^Ready: mnist-vae-2d/);

      // The grid's corners are decode() of the grid's corners in z.
      const grid = await readCanvas(session, '#latent-grid');
      assert.equal(grid.width, 15 * 28);
      const cells = tiles(grid);
      const [topLeft, bottomRight] = await decode(session, [[-EDGE, EDGE], [EDGE, -EDGE]]);
      assert.ok(meanAbsDiff(cells[0], topLeft) < TOLERANCE, 'the top-left tile is not decode(z) of its corner');
      assert.ok(meanAbsDiff(cells[224], bottomRight) < TOLERANCE, 'the bottom-right tile is not decode(z) of its corner');
      assert.ok(meanAbsDiff(cells[0], cells[224]) > 0.02, 'opposite corners look alike');

      // A slider moves the decoded image.
      const before = await readCanvas(session, '#slider-decode');
      await session.run(`const slider = document.querySelector('[data-testid=latent-slider]');
        slider.value = "2"; slider.dispatchEvent(new Event('input', { bubbles: true }));`);
      await waitFor(session, `${SLIDER_Z}?.[0]?.[0] === 2`, 'the slider image');
      const after = await readCanvas(session, '#slider-decode');
      assert.ok(meanAbsDiff(before.grey, after.grey) > 0.01, 'the slider image did not change');

      // The map is painted with the test set; the grid's keyboard choice reads a cell out.
      const map = await readCanvas(session, '#latent-map');
      assert.ok(map.painted > 500, `the map painted ${map.painted} pixels`);
      await session.press('#latent-grid', 'ArrowRight', 3);
      assert.match(await session.run('return document.getElementById("grid-chosen").textContent;'), /row 8 of 15, column 11 of 15: the decoder.s image of z/);
      saveScreenshot('firefox-explorer', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('draw → encode → interpolate with real pointer strokes', async () => {
    const session = await open('?model=mnist-vae-2d');
    try {
      await session.run('document.getElementById("draw-pad").scrollIntoView({ block: "center" });');
      await session.stroke('#draw-pad', ring(50, 95));
      const mu = await waitFor(session, MU, 'the first encoding');
      assert.match(mu, /^\(−?\d+\.\d\d, −?\d+\.\d\d\)$/);
      const input = await readCanvas(session, '#draw-input');
      const reconstruction = await readCanvas(session, '#draw-reconstruction');
      assert.ok(mean(input.grey) > 0.05, 'the prepared input is blank');
      const [far] = await decode(session, [[3, 3]]);
      assert.ok(meanAbsDiff(reconstruction.grey, input.grey) < meanAbsDiff(far, input.grey), 'the reconstruction is no closer than a far decode');

      await session.click('[data-testid=draw-add]');
      await session.click('[data-testid=draw-clear]');
      await session.stroke('#draw-pad', [[-10, -100], [0, 0], [10, 100]]);
      await waitFor(session, `${MU} && document.querySelectorAll("[data-testid=tray-item]").length === 1`, 'the second encoding');
      await session.click('[data-testid=draw-add]');
      await checkStripEnds(session);
      await session.run('document.querySelector(".interpolation-panel").scrollIntoView();');
      saveScreenshot('firefox-interpolation', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('the letters workshop takes drawn vowels, keeps them across a reload, and trains 20 lab steps on them', async () => {
    const session = await open('?backend=cpu');
    try {
      await session.run('localStorage.clear();');
      await session.run('document.getElementById("letters-pad").scrollIntoView({ block: "center" });');
      const letters = Object.keys(VOWELS);
      for (const [index, letter] of letters.entries()) {
        for (const stroke of drawnLetter(letter, 0)) await session.stroke('#letters-pad', stroke);
        assert.equal(await session.run('return document.querySelector("[data-testid=letters-label]").value;'), letter);
        await session.click('[data-testid=letters-add]');
        await waitFor(session, `document.querySelectorAll("[data-testid=letter-card]").length === ${index + 1}`, `${letter} in the list`);
      }
      assert.match(await session.run('return document.querySelector("[data-testid=letters-counts]").textContent;'), /5 drawings: A 1 · E 1 · I 1 · O 1 · U 1/);
      await session.goto(`${site.url}?backend=cpu`);
      await session.run('await window.latentlab.ready;');
      await waitFor(session, 'document.querySelectorAll("[data-testid=letter-card]").length === 5', 'the letters after a reload');

      await session.click('[data-testid=letters-train]');
      const started = await waitFor(session, 'window.latentlab.lab.status()?.heldout && window.latentlab.lab.status()', 'the first step', 120000);
      assert.equal(started.backend, 'cpu');
      await waitFor(session, 'window.latentlab.lab.status()?.step >= 20', '20 steps', 180000);
      await session.click('[data-testid=lab-play]');
      await waitFor(session, 'window.latentlab.lab.status()?.state === "paused"', 'the lab to pause');
      const legend = await session.run('return [...document.querySelectorAll("[data-testid=lab-legend] li")].map((li) => li.textContent).join("");');
      assert.equal(legend, 'AEIOU');
      await session.run('document.getElementById("letters-title").scrollIntoView();');
      saveScreenshot('firefox-letters', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('the lab: 20 steps on MNIST 0s and 1s lower the held-out loss, and the model goes on show', async () => {
    const session = await open('?backend=cpu');
    try {
      const first = await session.run('return await window.latentlab.lab.start({dataset: "mnist", classes: [0, 1], batch: 32, lr: 0.003, seed: 3});');
      assert.equal(first.backend, 'cpu');
      await session.run('await window.latentlab.lab.pause();');
      let last = first;
      while (last.step < first.step + 20) last = await session.run('return await window.latentlab.lab.step();');
      assert.ok(last.heldout.total < first.heldout.total, `held-out loss ${first.heldout.total} → ${last.heldout.total}`);
      assert.ok(last.imagesPerSecond > 0);
      // Not isolated here: the single-threaded worker, and the lab says why.
      assert.equal(await session.run('return window.crossOriginIsolated;'), false);
      assert.equal(last.cpuThreads, 1);
      await session.run('await window.latentlab.lab.use();');
      assert.match(await session.run('return document.querySelector("[data-testid=model-line]").textContent;'), /lab-mnist-vae-2d-s3/);
      const [pixels] = await decode(session, [[0, 0]]);
      assert.equal(pixels.length, 784);
      await session.run('document.getElementById("lab-title").scrollIntoView();');
      saveScreenshot('firefox-lab', await session.screenshot());
    } finally {
      await session.close();
    }
  });
});
