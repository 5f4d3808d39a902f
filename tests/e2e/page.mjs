// Helpers that read what the page draws.
import assert from 'node:assert/strict';

/** Grey values (red channel / 255) of a canvas, with its size and its data-z tag. */
export const READ_CANVAS = `
  const canvas = document.querySelector(args[0]);
  if (!canvas) throw new Error('no canvas ' + args[0]);
  const { width, height } = canvas;
  const rgba = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const grey = [];
  let painted = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    grey.push(rgba[i] / 255);
    if (rgba[i + 3] > 0 && (rgba[i] > 30 || rgba[i + 1] > 30 || rgba[i + 2] > 30)) painted++;
  }
  const z = canvas.dataset.z ? JSON.parse(canvas.dataset.z) : null;
  return { width, height, grey, painted, z };
`;

export async function readCanvas(session, selector) {
  return session.run(READ_CANVAS, selector);
}

/** The 28×28 tiles of a canvas of decoded images, row by row. */
export function tiles(canvas, side = 28) {
  const result = [];
  for (let row = 0; row < Math.floor(canvas.height / side); row++) {
    for (let col = 0; col < Math.floor(canvas.width / side); col++) {
      const tile = [];
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) tile.push(canvas.grey[(row * side + y) * canvas.width + col * side + x]);
      }
      result.push(tile);
    }
  }
  return result;
}

export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
export const meanAbsDiff = (a, b) => mean(a.map((v, i) => Math.abs(v - b[i])));

/** Polls `condition` (a JS expression in the page) until it is truthy; returns its value. */
export async function waitFor(session, condition, what, timeoutMs = 60000) {
  const value = await session.run(`{
    const until = Date.now() + ${timeoutMs};
    for (;;) {
      const value = (() => ${condition})();
      if (value) return value;
      if (Date.now() > until) return null;
      await new Promise((r) => setTimeout(r, 50));
    }}`);
  if (!value) throw new Error(`timed out waiting for ${what}`);
  return value;
}

/** latentlab.decode of the given points, as arrays of 784 values. */
export async function decode(session, zs) {
  const flat = await session.run('return Array.from(await window.latentlab.decode(args[0]));', zs);
  return zs.map((_, i) => flat.slice(i * 784, (i + 1) * 784));
}

export const statusText = 'document.querySelector("[data-testid=status]").textContent';

/** Waits until the page says it shows model `name`. */
export async function waitForModel(session, name) {
  return waitFor(
    session,
    `${statusText}.startsWith("Ready: ${name}") && document.querySelector("[data-testid=model-line]")?.textContent.includes("${name}")`,
    `model ${name} to be shown`,
  );
}

/** The interpolation strip on show: ten points, whose end tiles are decode() of its end
 *  points (within 2/255) and differ from each other. Returns the strip's points. */
export async function checkStripEnds(session) {
  const strip = await waitFor(session, 'JSON.parse(document.getElementById("interpolation-strip").dataset.z || "null")', 'the strip');
  assert.equal(strip.length, 10);
  const cells = tiles(await readCanvas(session, '#interpolation-strip'));
  const [start, end] = await decode(session, [strip[0], strip[9]]);
  assert.ok(meanAbsDiff(cells[0], start) < 2 / 255, 'the strip does not start at the first item');
  assert.ok(meanAbsDiff(cells[9], end) < 2 / 255, 'the strip does not end at the second item');
  assert.ok(meanAbsDiff(cells[0], cells[9]) > 0.02, 'the two ends look alike');
  return strip;
}
