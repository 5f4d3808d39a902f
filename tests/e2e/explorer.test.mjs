// End-to-end: the latent explorer's views render, react, and show the decoder's output.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './browser.mjs';
import { useSite } from './server.mjs';
import { saveScreenshot } from './site.mjs';
import { decode, mean, meanAbsDiff, readCanvas, tiles, waitFor, waitForModel } from './page.mjs';

const site = useSite('/explorer/');

/** Opens the page on the CPU backend with extra query parameters and waits for it. */
async function open(query = '') {
  const session = await openBrowser({ webgpu: false });
  await session.goto(`${site.url}?backend=cpu${query}`);
  await session.run('await window.latentlab.ready;');
  return session;
}

const TOLERANCE = 2 / 255;
const SLIDER_Z = 'JSON.parse(document.getElementById("slider-decode").dataset.z || "null")';

describe('the latent explorer in headless Chromium (CPU backend)', () => {
  test('model picker and latentlab.models() / use(): switching changes the grid and the views', async () => {
    const session = await open();
    try {
      const models = await session.run('return await window.latentlab.models();');
      assert.deepEqual(
        models.map((m) => m.name).sort(),
        ['fashion-mnist-ae-2d', 'fashion-mnist-dense-vae-2d', 'fashion-mnist-vae-16d', 'fashion-mnist-vae-2d',
          'mnist-ae-2d', 'mnist-dense-vae-2d', 'mnist-vae-16d', 'mnist-vae-2d'],
      );
      for (const { name, manifest } of models) {
        assert.equal(manifest.name, name);
        assert.ok(['vae', 'ae'].includes(manifest.kind));
        assert.equal(manifest.latent, name.includes('16d') ? 16 : 2);
        assert.equal(manifest.architecture.network, name.includes('dense') ? 'dense' : 'conv');
        assert.equal(manifest.class_names.length, 10);
      }
      const fashionGrid = await readCanvas(session, '#latent-grid');
      const legend = await session.run('return document.querySelector(".legend").textContent;');
      assert.match(legend, /T-shirt\/top/);
      assert.match(legend, /Ankle boot/);

      // The picker: the MNIST button keeps the variant (2-D VAE).
      await session.click('[data-testid=dataset-mnist]');
      await waitForModel(session, 'mnist-vae-2d');
      const mnistGrid = await readCanvas(session, '#latent-grid');
      assert.ok(meanAbsDiff(fashionGrid.grey, mnistGrid.grey) > 0.05, 'the grid did not change with the model');
      assert.match(await session.run('return location.search;'), /model=mnist-vae-2d/);
      saveScreenshot('explorer-mnist-vae-2d', await session.screenshot());

      // use(): a 16-D model has no grid or map, and 16 sliders.
      await session.run('await window.latentlab.use("mnist-vae-16d");');
      assert.equal(await session.run('return document.getElementById("latent-grid").offsetParent;'), null, "the grid shows for a 16-D model");
      assert.equal(await session.run('return document.querySelectorAll("[data-testid=latent-slider]").length;'), 16);
      await waitFor(session, `${SLIDER_Z}?.[0]?.length === 16`, 'the 16-D sliders image');
      saveScreenshot('explorer-mnist-vae-16d', await session.screenshot());

      const refused = await session.run('try { await window.latentlab.use("no-such"); return "resolved"; } catch (e) { return e.message; }');
      assert.match(refused, /shipped model/);

      // Back to the first model: the same z gives the same pixels.
      await session.run('await window.latentlab.use("fashion-mnist-vae-2d");');
      const again = await readCanvas(session, '#latent-grid');
      assert.ok(meanAbsDiff(fashionGrid.grey, again.grey) < 1e-6, 'the same model drew a different grid');
    } finally {
      await session.close();
    }
  });

  test('quick switching: the last request wins, and the overtaken one is told so', async () => {
    const session = await open('&model=mnist-vae-2d');
    try {
      const [first, second] = await session.run(`
        const first = window.latentlab.use("mnist-vae-16d").then(() => "shown", (e) => e.message);
        const second = window.latentlab.use("fashion-mnist-ae-2d").then(() => "shown", (e) => e.message);
        return [await first, await second];`);
      assert.equal(second, 'shown');
      assert.match(first, /switched to fashion-mnist-ae-2d before this model was shown/);
      // Long enough for a stale load to land, if one were going to.
      await session.run('await new Promise((r) => setTimeout(r, 3000));');
      await waitForModel(session, 'fashion-mnist-ae-2d');
      assert.equal(await session.run('return document.querySelectorAll("[data-testid=latent-slider]").length;'), 2);
      assert.match(await session.run('return location.search;'), /model=fashion-mnist-ae-2d/);
      // The grid on show is the autoencoder's: its top-left tile is decode() of its corner.
      const grid = await readCanvas(session, '#latent-grid');
      const [corner] = await decode(session, [[-1.6448536, 1.6448536]]);
      assert.ok(meanAbsDiff(tiles(grid)[0], corner) < TOLERANCE, 'the grid is not the shown model\'s');
    } finally {
      await session.close();
    }
  });

  test('the grid has axis labels in z and p, and the test set can be overlaid', async () => {
    const session = await open('&model=mnist-vae-2d');
    try {
      const xTicks = await session.run('return document.querySelector(".x-ticks").textContent;');
      assert.match(xTicks, /−1\.64/);
      assert.match(xTicks, /p 0\.05/);
      assert.match(xTicks, /1\.64/);
      assert.match(xTicks, /p 0\.95/);
      const before = await readCanvas(session, '#grid-overlay');
      await session.click('[data-testid=grid-overlay-toggle]');
      await waitFor(session, 'document.querySelector("[data-testid=grid-overlay-toggle]").checked', 'the overlay toggle');
      const overlaid = await waitFor(
        session,
        `(() => { const c = document.getElementById("grid-overlay"); const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
           let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n > ${before.painted} + 5000 ? n : 0; })()`,
        'the overlaid encodings',
      );
      assert.ok(overlaid > 5000);
      saveScreenshot('explorer-grid-overlay', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('the latent map scatters the test set, switches to p-space, previews on hover and pins on click', async () => {
    const session = await open('&model=mnist-vae-2d');
    try {
      const zSpace = await waitFor(session, 'document.getElementById("latent-map") && true', 'the map');
      assert.ok(zSpace);
      const inZ = await readCanvas(session, '#latent-map');
      assert.ok(inZ.painted > 3000, `the map shows only ${inZ.painted} coloured pixels`);
      await session.click('[data-testid=map-space-p]');
      await new Promise((r) => setTimeout(r, 200));
      const inP = await readCanvas(session, '#latent-map');
      assert.ok(meanAbsDiff(inZ.grey, inP.grey) > 0.005, 'p-space looks the same as z-space');

      // Hover shows a preview at the pointer (offsets count from the map's centre).
      await session.run('document.getElementById("latent-map").scrollIntoView({ block: "center" });');
      await session.pointerAt('#latent-map', 40, -60);
      await waitFor(session, 'getComputedStyle(document.querySelector(".hover-preview")).display === "block"', 'the hover preview');

      // Click pins the decode there; it is latentlab.decode of the pinned z, and the sliders follow.
      await session.pointerAt('#latent-map', -70, 50, { click: true });
      const pinnedZ = await waitFor(session, 'JSON.parse(document.getElementById("pinned-decode").dataset.z || "null")', 'the pinned decode');
      const [z] = pinnedZ;
      assert.ok(z[0] < 0 && z[1] < 0, `clicking left of and below the centre pinned ${z}`);
      const pinned = await readCanvas(session, '#pinned-decode');
      const [expected] = await decode(session, [z]);
      assert.ok(meanAbsDiff(pinned.grey, expected) < TOLERANCE, 'the pinned image is not decode(z)');
      assert.ok(mean(pinned.grey) > 0.02, 'the pinned image is blank');
      const sliders = await session.run('return [...document.querySelectorAll("[data-testid=latent-slider]")].map((s) => Number(s.value));');
      assert.ok(Math.abs(sliders[0] - z[0]) < 0.011 && Math.abs(sliders[1] - z[1]) < 0.011, `sliders ${sliders} are not at ${z}`);
      saveScreenshot('explorer-map-pinned', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('sliders decode live, reset and randomise, and the address round-trips the point', async () => {
    const session = await open('&model=mnist-vae-2d&z=1.00,-0.50');
    try {
      await waitForModel(session, 'mnist-vae-2d');
      const values = await session.run('return [...document.querySelectorAll("[data-testid=latent-slider]")].map((s) => Number(s.value));');
      assert.deepEqual(values, [1, -0.5]);
      const start = await waitFor(session, SLIDER_Z, 'the sliders image');
      assert.deepEqual(start, [[1, -0.5]]);
      const first = await readCanvas(session, '#slider-decode');
      const [expected] = await decode(session, [[1, -0.5]]);
      assert.ok(meanAbsDiff(first.grey, expected) < TOLERANCE, 'the sliders image is not decode(z)');

      // Keyboard: 50 presses of the right arrow move z₁ by +0.5.
      await session.press('#slider-0', 'ArrowRight', 50);
      const moved = await waitFor(session, `(() => { const z = ${SLIDER_Z}; return z && Math.abs(z[0][0] - 1.5) < 1e-4 ? z : null; })()`, 'z₁ = 1.5');
      assert.ok(Math.abs(moved[0][1] + 0.5) < 1e-6);
      const after = await readCanvas(session, '#slider-decode');
      assert.ok(meanAbsDiff(first.grey, after.grey) > 0.01, 'moving a slider did not change the image');
      await waitFor(session, 'location.search.includes("z=1.50,-0.50")', 'the address to follow the sliders');

      // A typed value beyond the slider's reach is accepted up to ±10.
      await session.run(`const input = document.querySelectorAll(".slider-number")[1];
        input.value = "7"; input.dispatchEvent(new Event("change", { bubbles: true }));`);
      await waitFor(session, `${SLIDER_Z}?.[0]?.[1] === 7`, 'z₂ = 7');

      await session.click('[data-testid=reset-point]');
      await waitFor(session, `JSON.stringify(${SLIDER_Z}) === "[[0,0]]"`, 'the reset point');
      await session.click('[data-testid=randomise-point]');
      const random = await waitFor(session, `(() => { const z = ${SLIDER_Z}; return z && (z[0][0] !== 0 || z[0][1] !== 0) ? z : null; })()`, 'a random point');
      assert.ok(random[0].every((v) => Number.isFinite(v) && Math.abs(v) <= 3));

      // The address opens the same view elsewhere: same z, same pixels.
      const search = await waitFor(session, `(() => {
        const z = (new URLSearchParams(location.search).get("z") ?? "").split(",").map(Number);
        return ${JSON.stringify(random[0])}.every((v, d) => Math.abs(v - z[d]) < 0.006) && location.search; })()`, 'the address at the random point');
      const shown = await readCanvas(session, '#slider-decode');
      const other = await openBrowser({ webgpu: false });
      try {
        await other.goto(`${site.url}${search}`);
        await other.run('await window.latentlab.ready;');
        const there = await waitFor(other, SLIDER_Z, 'the shared point');
        const z = random[0].map((v) => Number(v.toFixed(2)) + 0); // + 0: the address writes −0.004 as 0, not −0
        assert.deepEqual(there[0], z);
        const sharedImage = await readCanvas(other, '#slider-decode');
        const [rounded] = await decode(session, [z]);
        assert.ok(meanAbsDiff(sharedImage.grey, rounded) < TOLERANCE, 'the shared address shows another image');
        assert.ok(meanAbsDiff(sharedImage.grey, shown.grey) < 0.05, 'the shared view differs from the original');
      } finally {
        await other.close();
      }
    } finally {
      await session.close();
    }
  });

  test('prior samples: 18 decoded points, marked with their z, renewed on request', async () => {
    const session = await open('&model=mnist-vae-16d');
    try {
      const samples = await waitFor(session, 'JSON.parse(document.getElementById("prior-samples").dataset.z || "null")', 'the samples');
      assert.equal(samples.length, 18);
      assert.ok(samples.every((z) => z.length === 16));
      const canvas = await readCanvas(session, '#prior-samples');
      assert.equal(canvas.width, 6 * 28);
      assert.equal(canvas.height, 3 * 28);
      const cells = tiles(canvas);
      assert.ok(cells.filter((t) => mean(t) > 0.02).length >= 16, 'samples are blank');
      const [expected] = await decode(session, [samples[5]]);
      assert.ok(meanAbsDiff(cells[5], expected) < TOLERANCE, 'sample 6 is not decode(z)');
      assert.equal(await session.run('return document.querySelectorAll(".sample-z li").length;'), 18);
      await session.click('[data-testid=new-samples]');
      const renewed = await waitFor(
        session,
        `(() => { const z = JSON.parse(document.getElementById("prior-samples").dataset.z); return z[0][0] !== ${samples[0][0]} ? z : null; })()`,
        'new samples',
      );
      assert.equal(renewed.length, 18);
      saveScreenshot('explorer-samples-16d', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('traversal strip runs one dimension from −3 to +3 around the sliders point', async () => {
    const session = await open('&model=fashion-mnist-vae-16d&z=0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.5');
    try {
      const strip = await waitFor(session, 'JSON.parse(document.getElementById("traversal-strip").dataset.z || "null")', 'the strip');
      assert.equal(strip.length, 11);
      assert.equal(strip[0][0], -3);
      assert.equal(strip[10][0], 3);
      assert.ok(strip.every((z) => z[15] === 0.5));
      await session.run(`const s = document.querySelector("[data-testid=traversal-dimension]");
        s.value = "4"; s.dispatchEvent(new Event("change", { bubbles: true }));
        const n = document.querySelector("[data-testid=traversal-steps]");
        n.value = "7"; n.dispatchEvent(new Event("change", { bubbles: true }));`);
      const seven = await waitFor(
        session,
        '(() => { const z = JSON.parse(document.getElementById("traversal-strip").dataset.z); return z.length === 7 && z[0][4] === -3 ? z : null; })()',
        'a 7-step strip along z₅',
      );
      assert.equal(seven[6][4], 3);
      assert.equal(seven[0][0], 0);
      const canvas = await readCanvas(session, '#traversal-strip');
      assert.equal(canvas.width, 7 * 28);
      const cells = tiles(canvas);
      const [left, right] = await decode(session, [seven[0], seven[6]]);
      assert.ok(meanAbsDiff(cells[0], left) < TOLERANCE, 'the left end is not decode(z)');
      assert.ok(meanAbsDiff(cells[6], right) < TOLERANCE, 'the right end is not decode(z)');
      assert.ok(meanAbsDiff(cells[0], cells[6]) > 0.01, 'the strip does not change along the dimension');
    } finally {
      await session.close();
    }
  });

  test('autoencoder vs VAE: both latent maps and grids, side by side', async () => {
    const session = await open('&model=mnist-vae-2d');
    try {
      await session.click('[data-testid=compare-start]');
      await waitFor(
        session,
        '!document.querySelector("[data-testid=compare-panel] .compare").classList.contains("hidden")',
        'the comparison',
        120000,
      );
      const aeGrid = await readCanvas(session, '[data-testid=compare-grid-0]');
      const vaeGrid = await readCanvas(session, '[data-testid=compare-grid-1]');
      const aeMap = await readCanvas(session, '[data-testid=compare-map-0]');
      assert.ok(aeMap.painted > 1000, 'the autoencoder map is empty');
      assert.ok(mean(aeGrid.grey) > 0.02 && mean(vaeGrid.grey) > 0.02, 'a comparison grid is blank');
      assert.ok(meanAbsDiff(aeGrid.grey, vaeGrid.grey) > 0.02, 'the two grids are alike');
      const mainGrid = await readCanvas(session, '#latent-grid');
      assert.ok(meanAbsDiff(mainGrid.grey, vaeGrid.grey) < 1e-6, 'the VAE column is not the VAE grid');
      const caption = await session.run('return document.querySelector("[data-testid=compare-panel]").textContent;');
      assert.match(caption, /mnist-ae-2d/);
      await session.run('document.querySelector("[data-testid=compare-panel]").scrollIntoView();');
      saveScreenshot('explorer-compare', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('dense vs convolutional: both maps and grids, each with its test −ELBO', async () => {
    const session = await open('&model=mnist-vae-2d');
    try {
      await session.click('[data-testid=compare-dense-start]');
      await waitFor(
        session,
        '!document.querySelector("[data-testid=compare-dense-panel] .compare").classList.contains("hidden")',
        'the dense vs convolutional comparison',
        120000,
      );
      const denseGrid = await readCanvas(session, '[data-testid=compare-dense-grid-0]');
      const convGrid = await readCanvas(session, '[data-testid=compare-dense-grid-1]');
      const denseMap = await readCanvas(session, '[data-testid=compare-dense-map-0]');
      assert.ok(denseMap.painted > 1000, 'the dense model\'s map is empty');
      assert.ok(mean(denseGrid.grey) > 0.02, 'the dense grid is blank');
      assert.ok(meanAbsDiff(denseGrid.grey, convGrid.grey) > 0.02, 'the two grids are alike');
      const mainGrid = await readCanvas(session, '#latent-grid');
      assert.ok(meanAbsDiff(mainGrid.grey, convGrid.grey) < 1e-6, 'the convolutional column is not the shown grid');
      const [denseCaption, convCaption] = await session.run(`return [0, 1].map((i) =>
        document.querySelector("[data-testid=compare-dense-caption-" + i + "]").textContent);`);
      assert.match(denseCaption, /mnist-dense-vae-2d/);
      assert.match(convCaption, /mnist-vae-2d/);
      const manifests = await session.run(`return Promise.all(["mnist-dense-vae-2d", "mnist-vae-2d"].map((name) =>
        fetch("models/" + name + ".json").then((r) => r.json())));`);
      for (const [caption, manifest] of [[denseCaption, manifests[0]], [convCaption, manifests[1]]]) {
        assert.ok(
          caption.includes(`test −ELBO ${manifest.test_metrics.neg_elbo.toFixed(1)} nats`),
          `"${caption}" does not give ${manifest.name}'s test −ELBO`,
        );
      }
      assert.equal(manifests[0].architecture.network, 'dense');
      await session.run('document.querySelector("[data-testid=compare-dense-panel]").scrollIntoView();');
      saveScreenshot('explorer-compare-dense', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('training history replays the map and reconstructions epoch by epoch', async () => {
    const session = await open('&model=mnist-vae-2d');
    try {
      const label = await waitFor(session, 'document.querySelector("[data-testid=history-label]")?.textContent', 'the history');
      assert.match(label, /After epoch 20 of 20/);
      await session.run('await window.latentlab.painted();');
      const lastMap = await readCanvas(session, '#history-map');
      const lastRecon = await readCanvas(session, '#history-reconstructions');
      assert.equal(lastRecon.width, 10 * 28);
      assert.ok(mean(lastRecon.grey) > 0.02, 'the reconstructions are blank');
      await session.run(`const s = document.querySelector("[data-testid=history-epoch]");
        s.value = "0"; s.dispatchEvent(new Event("input", { bubbles: true }));`);
      await waitFor(session, 'document.querySelector("[data-testid=history-label]").textContent.includes("epoch 1 of")', 'epoch 1');
      await session.run('await window.latentlab.painted();');
      const firstMap = await readCanvas(session, '#history-map');
      const firstRecon = await readCanvas(session, '#history-reconstructions');
      assert.ok(meanAbsDiff(firstMap.grey, lastMap.grey) > 0.001, 'the map did not change between epochs');
      assert.ok(meanAbsDiff(firstRecon.grey, lastRecon.grey) > 0.005, 'the reconstructions did not change between epochs');
      await session.click('[data-testid=history-play]');
      await waitFor(session, 'document.querySelector("[data-testid=history-label]").textContent.includes("epoch 3 of")', 'play to reach epoch 3');
      await session.run('document.querySelector(".history-panel").scrollIntoView();');
      saveScreenshot('explorer-history', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('"Save PNG" downloads the grid as a PNG file', async () => {
    const session = await open();
    try {
      const files = await session.downloads(1, () => session.click('[data-testid=save-grid]'));
      assert.deepEqual(files.map((f) => f.name), ['fashion-mnist-vae-2d-grid.png']);
      const png = files[0].bytes;
      assert.equal(png.subarray(1, 4).toString(), 'PNG');
      assert.equal(png.readUInt32BE(16), 420);
      assert.equal(png.readUInt32BE(20), 420);
    } finally {
      await session.close();
    }
  });

  test('phone width: the page fits 390 px and the views still draw', async () => {
    const session = await open();
    try {
      await session.setViewport(390, 844);
      await new Promise((r) => setTimeout(r, 300));
      const overflow = await session.run('return document.documentElement.scrollWidth - document.documentElement.clientWidth;');
      assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`);
      saveScreenshot('explorer-phone', await session.screenshot());
    } finally {
      await session.close();
    }
  });
});
