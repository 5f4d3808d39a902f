// End-to-end: the built page in headless Chromium decodes the 15×15 grid and paints it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBrowser } from './browser.mjs';
import { useSite } from './server.mjs';
import { deviceLosingLoader, recordWorkers, saveScreenshot, workerLoader } from './site.mjs';
import { decode, readCanvas, waitFor, waitForModel } from './page.mjs';

const MODEL = 'fashion-mnist-vae-2d';
const EDGE = 1.6448536269514722; // Φ⁻¹(0.95)

/** Broken model files served beside the real ones. */
function brokenModels(root) {
  const manifest = JSON.parse(readFileSync(join(root, 'models', `${MODEL}.json`), 'utf8'));
  const weights = readFileSync(join(root, 'models', manifest.weights));
  const flipped = Buffer.from(weights);
  flipped[flipped.length >> 1] ^= 0xff;
  return {
    'models/corrupt.json': JSON.stringify({ ...manifest, name: 'corrupt', weights: 'corrupt.bpk' }),
    'models/corrupt.bpk': flipped,
    'models/missing-weights.json': JSON.stringify({ ...manifest, name: 'missing-weights', weights: 'gone.bpk' }),
    'models/gone.bpk': null,
    'models/garbled.json': Buffer.from('{"name": "garbled", "lat'),
  };
}

const site = useSite('/some/sub/path/latentlab/', brokenModels);
// The same site, with an engine worker whose WebGPU device the test can lose.
const losingSite = useSite('/engine-loss/', (root) => {
  const loader = workerLoader(root, 'engine-worker');
  return { [loader]: deviceLosingLoader(root, loader) };
});

/** Reads the grid canvas back: its size and, per 28×28 cell, the grey values in [0, 1]. */
const READ_GRID = `
  const canvas = document.getElementById('latent-grid');
  const { width, height } = canvas;
  const rgba = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const side = 28;
  const cells = [];
  for (let row = 0; row < Math.floor(height / side); row++) {
    for (let col = 0; col < Math.floor(width / side); col++) {
      const cell = [];
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          cell.push(rgba[((row * side + y) * width + col * side + x) * 4] / 255);
        }
      }
      cells.push(cell);
    }
  }
  return { width, height, cells };
`;

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const meanAbsDiff = (a, b) => mean(a.map((v, i) => Math.abs(v - b[i])));

async function checkGridPage(session, expectedBackend, screenshotName) {
  await session.run('await window.latentlab.ready;');
  assert.equal(await session.run('return window.latentlab.backend();'), expectedBackend);
  const status = await session.run('return document.querySelector("[data-testid=status]").textContent;');
  assert.match(status, /Ready/);

  const grid = await session.run(READ_GRID);
  assert.equal(grid.width, 15 * 28);
  assert.equal(grid.height, 15 * 28);
  assert.equal(grid.cells.length, 225);

  const inked = grid.cells.filter((cell) => mean(cell) > 0.02).length;
  assert.ok(inked >= 200, `only ${inked} of 225 cells show anything`);
  const means = grid.cells.map(mean);
  const spread = Math.max(...means) - Math.min(...means);
  assert.ok(spread > 0.1, `cells are nearly alike (mean ink spread ${spread})`);
  let distinctNeighbours = 0;
  for (let i = 1; i < 225; i++) if (meanAbsDiff(grid.cells[i], grid.cells[i - 1]) > 0.005) distinctNeighbours++;
  assert.ok(distinctNeighbours >= 200, `only ${distinctNeighbours} cells differ from their neighbour`);
  const corners = meanAbsDiff(grid.cells[0], grid.cells[224]);
  assert.ok(corners > 0.05, `top-left and bottom-right cells are alike (${corners})`);

  // What the canvas shows is the decoder's output at those latent points.
  const decoded = await session.run(
    'const px = await window.latentlab.decode(args[0]); return Array.from(px);',
    [[-EDGE, EDGE], [EDGE, -EDGE]],
  );
  assert.equal(decoded.length, 2 * 784);
  assert.ok(decoded.every((v) => v >= 0 && v <= 1), 'decoded pixels outside [0, 1]');
  const topLeft = decoded.slice(0, 784);
  const bottomRight = decoded.slice(784);
  assert.ok(meanAbsDiff(topLeft, grid.cells[0]) < 2 / 255, 'top-left cell is not decode(z) of its point');
  assert.ok(meanAbsDiff(bottomRight, grid.cells[224]) < 2 / 255, 'bottom-right cell is not decode(z) of its point');

  saveScreenshot(screenshotName, await session.screenshot());
}

describe('the 15×15 grid in headless Chromium', () => {
  test('CPU backend (?backend=cpu) paints a grid of decoded images', async () => {
    const session = await openBrowser({ webgpu: false });
    try {
      await session.goto(`${site.url}?backend=cpu`);
      await checkGridPage(session, 'cpu', 'grid-cpu');
    } finally {
      await session.close();
    }
  });

  test('the engine computes beside the page: a long decode leaves the page fluid, and a newer single point overtakes it', async () => {
    const session = await openBrowser({ webgpu: false });
    try {
      await session.goto(`${site.url}?backend=cpu`);
      await session.run('await window.latentlab.ready;');
      const timeline = await session.run(`
        const points = Array.from({ length: 1500 }, (_, i) => [Math.sin(i) * 2, Math.cos(i * 0.7) * 2]);
        const started = performance.now();
        let frames = 0, longestGap = 0, last = started, running = true;
        const tick = (now) => { frames++; longestGap = Math.max(longestGap, now - last); last = now; if (running) requestAnimationFrame(tick); };
        requestAnimationFrame(tick);
        const big = window.latentlab.decode(points).then((px) => ({ at: performance.now() - started, length: px.length }));
        await new Promise((r) => setTimeout(r, 30));
        const single = await window.latentlab.decode([[0.25, -0.5]]);
        const singleAt = performance.now() - started;
        const done = await big;
        running = false;
        return { bigAt: done.at, bigLength: done.length, singleAt, singleLength: single.length, frames, longestGap };`);
      assert.equal(timeline.bigLength, 1500 * 784);
      assert.equal(timeline.singleLength, 784);
      // The single point is answered between two batches of the long request, not after it.
      assert.ok(timeline.singleAt < timeline.bigAt / 2, `single point at ${timeline.singleAt.toFixed(0)} ms, the 1,500 points at ${timeline.bigAt.toFixed(0)} ms`);
      // The page's thread is free meanwhile: frames keep coming.
      assert.ok(timeline.longestGap < timeline.bigAt / 4, `a ${timeline.longestGap.toFixed(0)} ms gap between frames during a ${timeline.bigAt.toFixed(0)} ms decode`);

      // And the engine does not need the page's thread: a decode asked for just before the
      // page is kept busy is ready as soon as the page is free again.
      const busy = await session.run(`
        const points = Array.from({ length: 400 }, (_, i) => [Math.sin(i), Math.cos(i)]);
        let t0 = performance.now();
        await window.latentlab.decode(points);
        const alone = performance.now() - t0;
        const answer = window.latentlab.decode(points).then(() => performance.now());
        await new Promise((r) => setTimeout(r, 0)); // the request goes out
        const busyUntil = performance.now() + Math.max(2 * alone, 1000);
        while (performance.now() < busyUntil) {}
        const freed = performance.now();
        return { alone, lateness: (await answer) - freed };`);
      assert.ok(busy.lateness < busy.alone / 2, `the ${busy.alone.toFixed(0)} ms decode came ${busy.lateness.toFixed(0)} ms after the page was free`);
    } finally {
      await session.close();
    }
  });

  test('without WebGPU the page falls back to the CPU backend by itself', async () => {
    const session = await openBrowser({ webgpu: false });
    try {
      await session.goto(site.url);
      await session.run('await window.latentlab.ready;');
      assert.equal(await session.run('return window.latentlab.backend();'), 'cpu');
      const note = await session.run('return document.body.textContent;');
      assert.match(note, /WebGPU is not used/);
    } finally {
      await session.close();
    }
  });

  test('WebGPU backend paints the same kind of grid, where Chromium offers WebGPU', async (t) => {
    const session = await openBrowser({ webgpu: true });
    try {
      await session.goto(`${site.url}?backend=webgpu`);
      const adapter = await session.run(
        'return !!(navigator.gpu && await navigator.gpu.requestAdapter());',
      );
      if (!adapter) {
        t.skip('this headless Chromium offers no WebGPU adapter');
        return;
      }
      await checkGridPage(session, 'webgpu', 'grid-webgpu');
    } finally {
      await session.close();
    }
  });

  test('a lost WebGPU device: the page says so, starts again, and decodes the same pixels', async (t) => {
    const session = await openBrowser({ webgpu: true });
    try {
      await session.page.addInitScript(recordWorkers);
      await session.goto(`${losingSite.url}?backend=webgpu&model=mnist-vae-2d`);
      if (!(await session.run('return !!(navigator.gpu && await navigator.gpu.requestAdapter());'))) {
        t.skip('this headless Chromium offers no WebGPU adapter');
        return;
      }
      await session.run('await window.latentlab.ready;');
      assert.equal(await session.run('return window.latentlab.backend();'), 'webgpu');
      const point = [[0.5, -0.5]];
      const [before] = await decode(session, point);
      // Lose the device; if the page started a new WebGPU device, lose that one too.
      for (let loss = 1; loss <= 2; loss++) {
        if (loss > 1 && (await session.run('return window.latentlab.backend();')) !== 'webgpu') break;
        await session.run('window.pageWorkers.forEach((worker) => worker.postMessage("test:lose-device"));');
        const [after] = await decode(session, point);
        assert.ok(meanAbsDiff(after, before) < 2 / 255, `after loss ${loss} the page decodes other pixels`);
        const notices = await waitFor(session, `[...document.querySelectorAll("[data-testid=notice]")].map((n) => n.textContent).filter((t) => t.includes("WebGPU device failed")).length >= ${loss} && document.querySelector("[data-testid=notice]").textContent`, 'the device notice');
        assert.match(notices, /the page (started a new WebGPU device|moved to the CPU backend) and loaded its models again/);
      }
      const backend = await session.run('return window.latentlab.backend();');
      assert.match(await session.run('return document.querySelector("[data-testid=backend]").textContent;'), backend === 'webgpu' ? /WebGPU/ : /CPU/);
      // The views work on the new device: a slider move decodes.
      await session.run(`const slider = document.querySelector('[data-testid=latent-slider]'); slider.value = "1.2";
        slider.dispatchEvent(new Event('input', { bubbles: true }));`);
      await waitFor(session, 'JSON.parse(document.getElementById("slider-decode").dataset.z || "null")?.[0]?.[0] === 1.2', 'the slider image');
      saveScreenshot('device-lost', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('left to choose, the page takes WebGPU only on a hardware adapter, and says why not', async (t) => {
    const session = await openBrowser({ webgpu: true });
    try {
      await session.goto(site.url);
      const adapter = await session.run('const a = await navigator.gpu?.requestAdapter(); return a ? { fallback: !!a.info?.isFallbackAdapter, architecture: a.info?.architecture ?? "" } : null;');
      if (!adapter) {
        t.skip('this headless Chromium offers no WebGPU adapter');
        return;
      }
      await session.run('await window.latentlab.ready;');
      const software = adapter.fallback || adapter.architecture.includes('swiftshader');
      assert.equal(await session.run('return window.latentlab.backend();'), software ? 'cpu' : 'webgpu');
      if (software) {
        const why = await session.run('return document.querySelector("[data-testid=backend-why] .note")?.textContent ?? document.body.textContent;');
        assert.match(why, /WebGPU runs on a software adapter.*far slower than the CPU backend/);
      }
    } finally {
      await session.close();
    }
  });

  test('?backend=auto times a decode on WebGPU and on the CPU, keeps the faster and says so', async (t) => {
    const session = await openBrowser({ webgpu: true });
    try {
      await session.goto(`${site.url}?backend=auto`);
      if (!(await session.run('return !!(await navigator.gpu?.requestAdapter());'))) {
        t.skip('this headless Chromium offers no WebGPU adapter');
        return;
      }
      await session.run('await window.latentlab.ready;');
      const notes = await session.run('return [...document.querySelectorAll("[data-testid=backend-why] .note")].map((n) => n.textContent).join(" ");');
      const timed = /a 32-point decode took ([\d.]+) ms on WebGPU and ([\d.]+) ms on the CPU/.exec(notes);
      assert.ok(timed, `the page names both timings: ${notes}`);
      const [gpu, cpu] = [Number(timed[1]), Number(timed[2])];
      assert.equal(await session.run('return window.latentlab.backend();'), gpu <= cpu ? 'webgpu' : 'cpu');
      // The page works on what it kept: the grid is painted.
      assert.ok(await session.run('return document.getElementById("latent-grid").getContext("2d").getImageData(0, 0, 420, 420).data.some((v, i) => i % 4 !== 3 && v > 0);'));
    } finally {
      await session.close();
    }
  });

  test('decode() rejects malformed latent vectors with a clear message', async () => {
    const session = await openBrowser({ webgpu: false });
    try {
      await session.goto(`${site.url}?backend=cpu`);
      await session.run('await window.latentlab.ready;');
      const errors = await session.run(`
        const messages = [];
        for (const zs of [[[1, 2, 3]], [], 'nonsense', [[0, NaN]]]) {
          try { await window.latentlab.decode(zs); messages.push('resolved'); }
          catch (e) { messages.push(e.message); }
        }
        return messages;`);
      assert.match(errors[0], /has 3 numbers; a latent vector here has 2/);
      assert.match(errors[1], /no latent vectors/);
      assert.match(errors[2], /array of latent vectors/);
      assert.match(errors[3], /not a finite number/);
    } finally {
      await session.close();
    }
  });
});

describe('bad model files and links: a message in words, and the page goes on with the default model', () => {
  for (const [model, expected] of [
    ['corrupt', /checksum does not match/],
    ['missing-weights', /HTTP 404/],
    ['garbled', /manifest is invalid/],
    ['no-such-model', /HTTP 404/],
  ]) {
    test(`?model=${model}`, async () => {
      const session = await openBrowser({ webgpu: false });
      try {
        await session.goto(`${site.url}?backend=cpu&model=${model}`);
        await session.run('await window.latentlab.ready;');
        await waitForModel(session, 'fashion-mnist-vae-2d');
        const notice = await session.run('return document.querySelector("[data-testid=notice]").textContent;');
        assert.match(notice, expected);
        assert.match(notice, /shows fashion-mnist-vae-2d instead/);
        // Alive: the default model decodes, and picking another model works.
        const [pixels] = await decode(session, [[0, 0]]);
        assert.equal(pixels.length, 784);
        saveScreenshot(`bad-model-${model}`, await session.screenshot());
        await session.run('await window.latentlab.use("mnist-vae-2d");');
        await waitForModel(session, 'mnist-vae-2d');
        // "shows fashion-mnist-vae-2d instead" no longer holds: the notice goes.
        assert.equal(await session.run('return document.querySelectorAll("[data-testid=notice]").length;'), 0);
      } finally {
        await session.close();
      }
    });
  }

  test('a malformed or mismatched ?z= is named, and the sliders start at the origin', async () => {
    const session = await openBrowser({ webgpu: false });
    try {
      for (const [z, expected] of [['abc,1', /z="abc,1" is not a list of numbers/], ['1,2,3', /z has 3 numbers, but mnist-vae-2d has a 2-D latent space/]]) {
        await session.goto(`${site.url}?backend=cpu&model=mnist-vae-2d&z=${z}`);
        await session.run('await window.latentlab.ready;');
        await waitForModel(session, 'mnist-vae-2d');
        const notice = await waitFor(session, 'document.querySelector("[data-testid=notice]")?.textContent', 'the notice');
        assert.match(notice, expected);
        const sliders = await session.run('return [...document.querySelectorAll("[data-testid=latent-slider]")].map((s) => Number(s.value));');
        assert.deepEqual(sliders, [0, 0]);
        const [pixels] = await decode(session, [[0, 0]]);
        assert.ok(pixels.some((v) => v > 0.5), 'the page does not decode');
      }
    } finally {
      await session.close();
    }
  });

  test('an unknown ?backend= is named, and the page chooses one itself', async () => {
    const session = await openBrowser({ webgpu: false });
    try {
      await session.goto(`${site.url}?backend=quantum`);
      await session.run('await window.latentlab.ready;');
      const notice = await session.run('return document.querySelector("[data-testid=notice]").textContent;');
      assert.match(notice, /unknown backend "quantum"/);
      assert.equal(await session.run('return window.latentlab.backend();'), 'cpu');
    } finally {
      await session.close();
    }
  });
});

/** The grey values (red channel / 255) of the site's first-paint picture, drawn in the page. */
const READ_FIRST_PAINT = `
  const image = new Image();
  image.src = 'first-paint.png';
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const grey = [];
  for (let i = 0; i < rgba.length; i += 4) grey.push(rgba[i] / 255);
  return { width: canvas.width, height: canvas.height, grey };
`;

describe('the first paint', () => {
  /** Where the first paint showed the grid, for the live page to keep it there. */
  let shellBox = null;

  test('before any wasm, the page shows its frame and the default grid', async () => {
    const session = await openBrowser();
    try {
      // No wasm arrives: trunk's loader fails, and the static page is all there is.
      await session.page.route('**/*.wasm', (route) => route.abort());
      session.expectError(/WebAssembly|Failed to fetch|wasm|fetch/i);
      await session.goto(site.url);
      const shell = await session.page.evaluate(() => {
        const shell = document.getElementById('first-paint');
        const image = shell?.querySelector('img');
        return shell && {
          title: shell.querySelector('h1').textContent,
          sentence: shell.querySelector('.tagline').textContent,
          status: shell.querySelector('[role=status]').textContent,
          loaded: image.complete && image.naturalWidth === 420 && image.naturalHeight === 420,
          shown: image.getBoundingClientRect().width,
          alt: image.alt,
          box: [...Object.values(image.getBoundingClientRect().toJSON())].map(Math.round),
        };
      });
      assert.ok(shell, 'no static first paint in the HTML');
      assert.equal(shell.title, 'latentlab');
      assert.match(shell.sentence, /variational autoencoder/);
      assert.match(shell.status, /Starting the compute backend/);
      assert.ok(shell.loaded, 'the first-paint picture did not load as 420×420');
      assert.ok(shell.shown > 300, `the picture is shown ${shell.shown} px wide`);
      assert.match(shell.alt, /15 by 15 grid/);
      shellBox = shell.box;
      saveScreenshot('first-paint-before-wasm', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('the live page keeps the picture in the grid until it draws the same grid', async () => {
    const session = await openBrowser();
    try {
      // Hold the weights back, so that the page is seen between its start and its grid.
      let release;
      const held = new Promise((resolve) => (release = resolve));
      await session.page.route('**/models/*.bpk', async (route) => {
        await held;
        await route.continue();
      });
      await session.goto(`${site.url}?backend=cpu`);
      const waiting = await waitFor(
        session,
        `(() => {
          const picture = document.querySelector('[data-testid=first-paint-grid]');
          if (!picture || picture.offsetParent === null || !picture.complete) return null;
          return { shellGone: !document.getElementById('first-paint'), width: picture.naturalWidth,
                   box: [...Object.values(picture.getBoundingClientRect().toJSON())].map(Math.round),
                   status: document.querySelector('[data-testid=status]').textContent };
        })()`,
        'the first-paint picture in the live grid',
      );
      assert.ok(waiting.shellGone, 'the static first paint is still there beside the live page');
      // The live page draws its frame as the first paint did: the grid stays where it was.
      assert.deepEqual(waiting.box, shellBox, 'the grid moved when the page started');
      assert.equal(waiting.width, 420);
      assert.doesNotMatch(waiting.status, /Ready/);
      saveScreenshot('first-paint-while-loading', await session.screenshot());
      release();
      await session.run('await window.latentlab.ready;');
      const hidden = await session.run(
        "return document.querySelector('[data-testid=first-paint-grid]').offsetParent === null;",
      );
      assert.ok(hidden, 'the picture still covers the live grid');
      const live = await readCanvas(session, '#latent-grid');
      const picture = await session.run(READ_FIRST_PAINT);
      assert.deepEqual([picture.width, picture.height], [live.width, live.height]);
      const worst = picture.grey.reduce((most, v, i) => Math.max(most, Math.abs(v - live.grey[i])), 0);
      assert.ok(worst <= 2 / 255, `the first paint differs from the live grid by up to ${Math.round(worst * 255)} grey levels`);
    } finally {
      await session.close();
    }
  });
});
