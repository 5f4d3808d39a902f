// End-to-end, property style: any number and mix of overlapping calls (use, decode, encode,
// lab commands), fired without waiting, all settle; the newest request to show a model wins;
// and afterwards the page decodes the model it shows and still answers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './browser.mjs';
import { useSite } from './server.mjs';
import { decode, meanAbsDiff, readCanvas, tiles, waitFor } from './page.mjs';

const site = useSite('/overlap/');
const MODELS = ['mnist-vae-2d', 'mnist-vae-16d', 'mnist-ae-2d', 'mnist-dense-vae-2d', 'fashion-mnist-vae-2d', 'fashion-mnist-vae-16d'];
const EDGE = 1.6448536269514722; // Φ⁻¹(0.95), the grid's corner
const TOLERANCE = 2 / 255;

/** mulberry32: a small seeded generator, so that a failing sequence can be run again. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` calls, as JS expressions that return a promise, and what each asks to show. */
function sequence(next, count) {
  const pick = (list) => list[Math.floor(next() * list.length)];
  const z = () => Array.from({ length: 1 + Math.floor(next() * 3) }, () => [next() * 6 - 3, next() * 6 - 3]);
  const calls = [
    [3, () => { const name = pick(MODELS); return { code: `window.latentlab.use(${JSON.stringify(name)})`, shows: name }; }],
    [3, () => ({ code: `window.latentlab.decode(${JSON.stringify(z())})` })],
    [2, () => ({ code: `window.latentlab.encode(Array.from({ length: 784 }, (_, i) => ((i * ${Math.floor(next() * 97)}) % 11) / 10))` })],
    [1, () => ({ code: 'window.latentlab.lab.start({dataset: "mnist", classes: [0, 1], batch: 16, arch: "dense", seed: 7})' })],
    [1, () => ({ code: 'window.latentlab.lab.step(2)' })],
    [1, () => ({ code: 'window.latentlab.lab.pause()' })],
    [1, () => ({ code: 'window.latentlab.lab.use()', shows: 'lab-' })],
  ];
  const total = calls.reduce((sum, [weight]) => sum + weight, 0);
  return Array.from({ length: count }, () => {
    let roll = next() * total;
    for (const [weight, make] of calls) {
      if ((roll -= weight) < 0) return make();
    }
    return calls[0][1]();
  });
}

/** Fires every call at once; resolves with each one's outcome, or fails if one never settles. */
async function fire(session, calls) {
  return session.run(`
    const calls = args[0];
    const done = calls.map(() => false);
    const settled = Promise.allSettled(calls.map((code, i) => {
      let promise;
      try { promise = eval(code); } catch (error) { promise = Promise.reject(error); }
      return Promise.resolve(promise).finally(() => { done[i] = true; });
    }));
    const hung = new Promise((_, reject) => setTimeout(() => {
      const pending = calls.map((code, i) => !done[i] && i + ': ' + code).filter(Boolean);
      reject(new Error('calls never settled: ' + pending.join('; ') + ' (all: ' + calls.map((c, i) => i + ': ' + c.slice(0, 60)).join('; ') + ')'));
    }, 150000));
    const outcomes = await Promise.race([settled, hung]);
    return outcomes.map((o) => o.status === 'fulfilled' ? { ok: true } : { ok: false, why: String(o.reason?.message ?? o.reason) });`,
  calls.map((call) => call.code));
}

/** The page decodes the model it shows: for a 2-D model its grid's corners are decode()
 *  of the grid's corner points; for any model decode() answers with an image. */
async function checkShownModelDecodes(session) {
  await waitFor(session, 'document.querySelector("[data-testid=status]").textContent.startsWith("Ready")', 'the page to be ready');
  // One slider per latent dimension of the model on show (the slider image's own point is
  // written only when its next frame is drawn, so it may still be the previous model's).
  const latent = await session.run('return document.querySelectorAll("[data-testid=latent-slider]").length;');
  if (latent === 2) {
    const cells = tiles(await readCanvas(session, '#latent-grid'));
    const [topLeft, bottomRight] = await decode(session, [[-EDGE, EDGE], [EDGE, -EDGE]]);
    assert.ok(meanAbsDiff(cells[0], topLeft) < TOLERANCE, 'the grid\'s top-left tile is not decode() of its corner');
    assert.ok(meanAbsDiff(cells[224], bottomRight) < TOLERANCE, 'the grid\'s bottom-right tile is not decode() of its corner');
  } else {
    const [pixels] = await decode(session, [Array(latent).fill(0)]);
    assert.equal(pixels.length, 784);
  }
}

describe('overlapping calls', () => {
  test('random overlapping sequences of use, decode, encode and lab calls all settle, the newest show wins, and the page decodes what it shows', async (t) => {
    const seed = Number(process.env.LATENTLAB_OVERLAP_SEED ?? Date.now() % 100000);
    t.diagnostic(`seed ${seed} (LATENTLAB_OVERLAP_SEED=${seed} runs the same sequences)`);
    const next = random(seed);
    const session = await openBrowser();
    try {
      await session.goto(`${site.url}?backend=cpu&model=mnist-vae-2d`);
      await session.run('await window.latentlab.ready;');
      for (let round = 0; round < 3; round++) {
        const calls = sequence(next, 24);
        const outcomes = await fire(session, calls);
        // Every refusal is said in words.
        for (const [i, outcome] of outcomes.entries()) {
          if (!outcome.ok) assert.ok(outcome.why.length > 10 && !/undefined|\[object/.test(outcome.why), `call ${i} (${calls[i].code}) failed with "${outcome.why}"`);
        }
        // The model on show is the one the newest successful request to show asked for.
        const shown = calls.map((call, i) => ({ ...call, ...outcomes[i] })).filter((call) => call.shows && call.ok).at(-1);
        const line = await session.run('return document.querySelector("[data-testid=model-line]").textContent;');
        const shows = calls.map((call, i) => call.shows && `${i}: ${call.code} → ${outcomes[i].ok ? 'ok' : outcomes[i].why}`).filter(Boolean);
        if (shown) assert.ok(line.startsWith(`Model ${shown.shows}`), `round ${round}: ${shown.code} resolved last, but the page says "${line}"\n${shows.join('\n')}`);
        await checkShownModelDecodes(session);
      }
      // And it still answers.
      await session.run('await window.latentlab.lab.pause().catch(() => {}); await window.latentlab.use("mnist-vae-2d");');
      await checkShownModelDecodes(session);
    } finally {
      await session.close();
    }
  });
});
