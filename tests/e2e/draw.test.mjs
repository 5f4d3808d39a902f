// End-to-end: drawing, encoding and interpolating in headless Chromium (CPU backend).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { openBrowser } from './browser.mjs';
import { useSite } from './server.mjs';
import { buildSite, REPO, saveScreenshot } from './site.mjs';
import { checkStripEnds, decode, mean, meanAbsDiff, readCanvas, tiles, waitFor, waitForModel } from './page.mjs';
import { ring } from './drawings.mjs';

const DATA = process.env.LATENTLAB_DATA ?? join(REPO, '..', 'shared', 'data');

const site = useSite('/draw/');

async function open(model) {
  const session = await openBrowser({ webgpu: false });
  await session.goto(`${site.url}?backend=cpu&model=${model}`);
  await session.run('await window.latentlab.ready;');
  await session.run('document.getElementById("draw-pad").scrollIntoView({ block: "center" });');
  return session;
}

/** One stroke through `points` ([x, y] from the pad's centre, in CSS pixels) with real pointer input. */
function stroke(session, points) {
  return session.stroke('#draw-pad', points);
}

const MESSAGE = 'document.querySelector("[data-testid=draw-message]")?.textContent';
const MU = 'document.querySelector("[data-testid=draw-mu]")?.textContent';

function centreOfMass(grey, side = 28) {
  let total = 0, x = 0, y = 0;
  grey.forEach((v, i) => { total += v; x += v * ((i % side) + 0.5); y += v * (Math.floor(i / side) + 0.5); });
  return [x / total, y / total];
}

function readIdx(name, count, offset = 0) {
  const images = gunzipSync(readFileSync(join(DATA, 'mnist', `t10k-images-idx3-ubyte.gz`)));
  const labels = gunzipSync(readFileSync(join(DATA, 'mnist', `t10k-labels-idx1-ubyte.gz`)));
  const out = [];
  for (let i = offset; i < offset + count; i++) {
    out.push({ label: labels[8 + i], pixels: Array.from(images.subarray(16 + i * 784, 16 + (i + 1) * 784), (b) => b / 255) });
  }
  return out;
}

function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** The shipped latent map: { latent, means: [[...]], labels }. */
function readLatentMap(name) {
  const bytes = readFileSync(join(buildSite(), 'models', `${name}.map.bin`));
  assert.equal(bytes.subarray(0, 4).toString(), 'LLM1');
  const count = bytes.readUInt32LE(4);
  const latent = bytes.readUInt32LE(8);
  const means = [];
  for (let i = 0; i < count; i++) {
    means.push(Array.from({ length: latent }, (_, d) => halfToFloat(bytes.readUInt16LE(12 + 2 * (i * latent + d)))));
  }
  const labels = Array.from(bytes.subarray(12 + 2 * count * latent, 12 + 2 * count * latent + count));
  return { latent, means, labels };
}

describe('draw, encode, interpolate', () => {
  test('a drawn digit is prepared as MNIST, encoded, and reconstructed better than chance', async () => {
    const session = await open('mnist-vae-2d');
    try {
      const mapBefore = await readCanvas(session, '#latent-map');
      await stroke(session, ring(55, 95));
      const mu = await waitFor(session, MU, 'the encoding');
      assert.match(mu, /^\(−?\d+\.\d\d, −?\d+\.\d\d\)$/);
      assert.match(await session.run('return document.querySelector("[data-testid=draw-sigma]").textContent;'), /^\(\d/);
      const input = await readCanvas(session, '#draw-input');
      const reconstruction = await readCanvas(session, '#draw-reconstruction');
      const [cx, cy] = centreOfMass(input.grey);
      assert.ok(Math.abs(cx - 14) <= 0.5 && Math.abs(cy - 14) <= 0.5, `centre of mass (${cx}, ${cy})`);
      // The ink spans 20 px on its longer side.
      const rows = [...Array(28).keys()].filter((r) => input.grey.slice(r * 28, r * 28 + 28).some((v) => v > 0.1));
      assert.ok(rows.length >= 19 && rows.length <= 21, `the ink spans ${rows.length} rows`);

      const randomZ = Array.from({ length: 20 }, () => {
        const g = () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
        return [g(), g()];
      });
      const randomDecodes = await decode(session, randomZ);
      const ownError = meanAbsDiff(reconstruction.grey, input.grey);
      const chanceError = mean(randomDecodes.map((d) => meanAbsDiff(d, input.grey)));
      assert.ok(ownError < chanceError, `reconstruction error ${ownError} is not below a random decode's ${chanceError}`);

      const mapAfter = await readCanvas(session, '#latent-map');
      assert.ok(meanAbsDiff(mapBefore.grey, mapAfter.grey) > 1e-4, 'the drawing is not marked on the latent map');
      saveScreenshot('draw-zero', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('a digit drawn small or large gives the same 28×28 input, strokes as wide as MNIST\'s', async () => {
    const session = await open('mnist-vae-16d');
    try {
      // A "2" drawn with real pointer moves, large and then at a third of the size.
      const two = (scale) => [
        ...Array.from({ length: 13 }, (_, i) => {
          const angle = Math.PI * (1.1 - (1.25 * i) / 12);
          return [scale * 50 * Math.cos(angle), scale * (-45 - 50 * Math.sin(angle))];
        }),
        [scale * -55, scale * 95], [scale * 55, scale * 95],
      ];
      const inputs = [];
      for (const scale of [1, 0.33]) {
        await session.click('[data-testid=draw-clear]');
        await stroke(session, two(scale));
        await waitFor(session, MU, 'the encoding');
        inputs.push((await readCanvas(session, '#draw-input')).grey);
      }
      const ink = inputs.map((grey) => grey.reduce((a, b) => a + b, 0));
      assert.ok(Math.abs(ink[0] - ink[1]) / ink[0] < 0.1, `ink ${ink[0].toFixed(1)} (large) vs ${ink[1].toFixed(1)} (small)`);
      assert.ok(meanAbsDiff(inputs[0], inputs[1]) < 0.05, 'the small drawing is not prepared like the large one');
      // MNIST's test digits hold about 100 units of ink (the mean of the first 200).
      const mnistInk = mean(readIdx('t10k', 200).map((d) => d.pixels.reduce((a, b) => a + b, 0)));
      for (const value of ink) {
        assert.ok(value > 0.4 * mnistInk && value < 1.6 * mnistInk, `ink ${value.toFixed(1)} against MNIST's ${mnistInk.toFixed(1)}`);
      }
    } finally {
      await session.close();
    }
  });

  test('empty, dot-sized and edge-only drawings get a message and no encode', async () => {
    const session = await open('mnist-vae-2d');
    try {
      assert.match(await session.run(`return ${MESSAGE};`), /Draw a digit/);
      await stroke(session, [[10, 10]]);
      await waitFor(session, `${MESSAGE}?.includes("dot")`, 'the dot message');
      assert.equal(await session.run('return document.querySelector("[data-testid=draw-add]").disabled;'), true);
      await session.click('[data-testid=draw-clear]');
      await stroke(session, [[-139, -100], [-139, 0], [-139, 100]]);
      await waitFor(session, `${MESSAGE}?.includes("edge")`, 'the edge message');
      await session.click('[data-testid=draw-undo]');
      await waitFor(session, `${MESSAGE}?.includes("Draw a digit")`, 'the empty pad again');
      assert.equal(await session.run(`return ${MU} ?? null;`), null);
    } finally {
      await session.close();
    }
  });

  test('a stroke that leaves the pad is clipped, not lost', async () => {
    const session = await open('mnist-vae-2d');
    try {
      // Down inside, out past the right edge, back in and down: one stroke.
      await stroke(session, [[-60, -80], [60, -80], [220, -60], [60, 0], [0, 60], [-40, 90]]);
      await waitFor(session, MU, 'the encoding');
      const pad = await readCanvas(session, '#draw-pad');
      const at = (x, y) => pad.grey[Math.round(140 + y) * 280 + Math.round(140 + x)];
      assert.ok(at(139, -70) > 0.5, 'the stroke does not reach the right edge');
      assert.ok(at(-40, 88) > 0.5, 'the part drawn after coming back is lost');
      await session.click('[data-testid=draw-undo]');
      await waitFor(session, `${MESSAGE}?.includes("Draw a digit")`, 'undo to remove the whole stroke');
    } finally {
      await session.close();
    }
  });

  test('encode(): test images land nearest their own class centroid, matching the shipped map', async (t) => {
    const session = await open('mnist-vae-2d');
    try {
      const map = readLatentMap('mnist-vae-2d');
      const centroids = Array.from({ length: 10 }, (_, c) => {
        const members = map.means.filter((_, i) => map.labels[i] === c);
        return [0, 1].map((d) => mean(members.map((m) => m[d])));
      });
      const sample = readIdx('mnist', 50, 5000);
      const { mu, logvar } = await session.run('return await window.latentlab.encode(args[0]);', sample.map((s) => s.pixels));
      assert.equal(mu.length, 50);
      assert.equal(logvar.length, 50);
      let nearest = 0;
      mu.forEach((z, i) => {
        const distances = centroids.map((c) => (c[0] - z[0]) ** 2 + (c[1] - z[1]) ** 2);
        if (distances.indexOf(Math.min(...distances)) === sample[i].label) nearest++;
      });
      t.diagnostic(`${nearest} of 50 test images land nearest their own class centroid`);
      assert.ok(nearest > 25, `only ${nearest} of 50 test images land nearest their class centroid`);

      // The page's encoder agrees with the native one that wrote the map.
      const first = readIdx('mnist', 3, 0);
      const encoded = await session.run('return (await window.latentlab.encode(args[0])).mu;', first.map((s) => s.pixels));
      encoded.forEach((z, i) => z.forEach((v, d) => assert.ok(Math.abs(v - map.means[i][d]) < 0.02, `μ[${i}][${d}] = ${v}, map ${map.means[i][d]}`)));

      const errors = await session.run(`
        const messages = [];
        for (const images of [[[0.5, 0.5]], [], [new Array(784).fill(2)]]) {
          try { await window.latentlab.encode(images); messages.push('resolved'); } catch (e) { messages.push(e.message); }
        }
        return messages;`);
      assert.match(errors[0], /28×28 image here has 784/);
      assert.match(errors[1], /no 28×28 images/);
      assert.match(errors[2], /in \[0, 1\]/);
    } finally {
      await session.close();
    }
  });

  test('interpolating two drawings on a 2-D model: strip ends are the endpoints, the path shows on the map', async () => {
    const session = await open('mnist-vae-2d');
    try {
      await stroke(session, ring(50, 95));
      await waitFor(session, MU, 'the first encoding');
      await session.click('[data-testid=draw-add]');
      await session.click('[data-testid=draw-clear]');
      await stroke(session, [[-10, -100], [0, 0], [10, 100]]);
      await waitFor(session, `${MU} && document.querySelectorAll("[data-testid=tray-item]").length === 1`, 'the second encoding');
      await session.click('[data-testid=draw-add]');
      await checkStripEnds(session);
      const morph = await readCanvas(session, '#interpolation-morph');
      assert.ok(mean(morph.grey) > 0.01, 'the morph is blank');
      await session.run('document.querySelector(".interpolation-panel").scrollIntoView();');
      saveScreenshot('draw-interpolation-2d', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('a 16-D model: test images from the tray, and slerp differs from lerp', async () => {
    const session = await open('fashion-mnist-vae-16d');
    try {
      await session.click('[data-testid=tray-random]');
      await waitFor(session, 'document.querySelectorAll("[data-testid=tray-item]").length === 1', 'one tray item');
      // The tray shows the real test image (shipped with the site), not a decode of μ.
      const label = await session.run('return document.querySelector("[data-testid=tray-item]").textContent;');
      const index = Number(/test #(\d+)/.exec(label)?.[1]);
      assert.ok(index >= 0 && index < 1000, label);
      const heldout = gunzipSync(readFileSync(join(REPO, 'www', 'data', 'fashion-mnist-heldout.bin')));
      const count = heldout.readUInt32LE(4);
      const real = Array.from(heldout.subarray(10 + count + index * 784, 10 + count + (index + 1) * 784), (v) => v / 255);
      const thumbnail = await readCanvas(session, '[data-testid=tray-item] canvas');
      assert.ok(meanAbsDiff(thumbnail.grey, real) < 2 / 255, 'the tray thumbnail is not the test image');
      await session.click('[data-testid=tray-random]');
      const linear = await waitFor(session, 'JSON.parse(document.getElementById("interpolation-strip").dataset.z || "null")', 'the strip');
      assert.equal(linear.length, 10);
      assert.equal(linear[0].length, 16);
      const linearPixels = await readCanvas(session, '#interpolation-strip');
      await session.click('[data-testid=interpolation-slerp]');
      const spherical = await waitFor(
        session,
        `(() => { const z = JSON.parse(document.getElementById("interpolation-strip").dataset.z); return z[5][0] !== ${linear[5][0]} ? z : null; })()`,
        'the spherical strip',
      );
      for (const i of [0, 9]) spherical[i].forEach((v, d) => assert.ok(Math.abs(v - linear[i][d]) < 1e-5, 'the ends moved'));
      const norm = (z) => Math.hypot(...z);
      assert.ok(norm(spherical[5]) > norm(linear[5]), 'the spherical midpoint is not further from the origin');
      const sphericalPixels = await readCanvas(session, '#interpolation-strip');
      assert.ok(meanAbsDiff(tiles(linearPixels)[5], tiles(sphericalPixels)[5]) > 1e-3, 'slerp and lerp decode alike');
      saveScreenshot('draw-interpolation-16d', await session.screenshot());
    } finally {
      await session.close();
    }
  });
});
