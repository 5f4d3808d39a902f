// End-to-end: the letters workshop. Vowels drawn with real pointer input are labelled,
// listed, edited, saved to a file and loaded back, kept across a reload, and trained on
// in the lab, after which the map shows them apart and a new drawing lands on it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './browser.mjs';
import { useSite } from './server.mjs';
import { saveScreenshot } from './site.mjs';
import { READ_CANVAS, waitFor, waitForModel } from './page.mjs';
import { VOWELS, drawnLetter } from './drawings.mjs';

const site = useSite('/letters/');

async function drawOn(session, pad, strokes) {
  for (const stroke of strokes) await session.stroke(pad, stroke);
}

const text = (session, testid) => session.run(`return document.querySelector("[data-testid=${testid}]")?.textContent ?? null;`);
const cardCount = (session) => session.run('return document.querySelectorAll("[data-testid=letter-card]").length;');
const labels = (session) => session.run('return [...document.querySelectorAll("[data-testid=letter-label]")].map((i) => i.value).join("");');

/** Draws the five vowels three times each, taking the workshop's suggested label each time. */
async function drawVowels(session) {
  await session.run('document.getElementById("letters-pad").scrollIntoView({ block: "center" });');
  for (let variant = 0; variant < 3; variant++) {
    for (const letter of Object.keys(VOWELS)) {
      await drawOn(session, '#letters-pad', drawnLetter(letter, variant));
      const suggested = await session.run('return document.querySelector("[data-testid=letters-label]").value;');
      assert.equal(suggested, letter, 'the workshop suggests the vowels in turn');
      await session.click('[data-testid=letters-add]');
      await waitFor(session, `document.querySelectorAll("[data-testid=letter-card]").length === ${variant * 5 + Object.keys(VOWELS).indexOf(letter) + 1}`, `${letter} in the list`);
    }
  }
}

async function open() {
  const session = await openBrowser({ webgpu: false });
  await session.goto(`${site.url}?backend=cpu`);
  await session.run('await window.latentlab.ready;');
  return session;
}

describe('the letters workshop', () => {
  test('drawn letters are labelled, listed with thumbnails, edited, saved, loaded back and kept across a reload', async () => {
    const session = await open();
    try {
      assert.match(await text(session, 'letters-counts'), /No letters yet/);
      assert.match(await text(session, 'letters-hint'), /Next: draw A \(0 of 3 so far\)/);
      await drawVowels(session);
      assert.match(await text(session, 'letters-counts'), /15 drawings: A 3 · E 3 · I 3 · O 3 · U 3/);
      assert.match(await text(session, 'letters-hint'), /ready to train/);
      assert.equal(await labels(session), 'AEIOU'.repeat(3));
      await session.run('document.getElementById("letters-title").scrollIntoView();');
      saveScreenshot('letters-workshop', await session.screenshot());
      // Every thumbnail is the drawing as the model will see it: ink in a 28×28 input.
      const inks = await session.run(`return [...document.querySelectorAll("[data-testid=letter-card] canvas")].map((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let ink = 0; for (let i = 0; i < d.length; i += 4) ink += d[i] / 255; return ink; });`);
      assert.equal(inks.length, 15);
      assert.ok(inks.every((ink) => ink > 30 && ink < 300), `ink per thumbnail: ${inks.map(Math.round)}`);

      // A slip is refused in words and the pad keeps it; a label must be one character.
      await session.stroke('#letters-pad', [[0, 0], [1, 0]]);
      await session.run(`const input = document.querySelector("[data-testid=letters-label]");
        input.value = "AB"; input.dispatchEvent(new Event("input", { bubbles: true }));`);
      await session.click('[data-testid=letters-add]');
      assert.match(await text(session, 'letters-message'), /one character/);
      await session.click('[data-testid=letters-clear]');

      // Relabel the first drawing, then put it back; remove the last.
      const relabel = (index, value) => session.run(`const input = document.querySelectorAll("[data-testid=letter-label]")[${index}];
        input.value = "${value}"; input.dispatchEvent(new Event("change", { bubbles: true }));`);
      await relabel(0, 'E');
      await waitFor(session, 'document.querySelector("[data-testid=letters-counts]").textContent.includes("A 2 · E 4")', 'the relabelled counts');
      await relabel(0, 'A');
      await waitFor(session, 'document.querySelector("[data-testid=letters-counts]").textContent.includes("A 3 · E 3")', 'the label put back');

      // Save → remove one → load: the saved set comes back as it was.
      const [saved] = await session.downloads(1, () => session.click('[data-testid=letters-save]'));
      const json = JSON.parse(saved.bytes.toString('utf8'));
      assert.equal(json.format, 'latentlab-letters-1');
      assert.equal(json.drawings.length, 15);
      assert.equal(json.drawings.map((d) => d.label).join(''), 'AEIOU'.repeat(3));
      await session.click('[data-testid=letter-card]:last-child [data-testid=letter-remove]');
      await waitFor(session, 'document.querySelectorAll("[data-testid=letter-card]").length === 14', 'the removal');
      await session.page.setInputFiles('[data-testid=letters-load]', { name: 'mine.json', mimeType: 'application/json', buffer: saved.bytes });
      await waitFor(session, 'document.querySelectorAll("[data-testid=letter-card]").length === 15', 'the loaded set');
      assert.equal(await labels(session), 'AEIOU'.repeat(3));
      assert.match(await text(session, 'letters-message'), /Loaded 15 drawings/);

      // A foreign or damaged file is refused in words; the letters stay as they are.
      await session.page.setInputFiles('[data-testid=letters-load]', { name: 'model.json', mimeType: 'application/json', buffer: Buffer.from('{"name": "mnist-vae-2d"}') });
      await waitFor(session, 'document.querySelector("[data-testid=letters-message]")?.textContent.includes("your letters are unchanged")', 'the refusal');
      assert.equal(await cardCount(session), 15);

      // The set survives a reload (kept in the browser).
      await session.goto(`${site.url}?backend=cpu`);
      await session.run('await window.latentlab.ready;');
      await waitFor(session, 'document.querySelectorAll("[data-testid=letter-card]").length === 15', 'the letters after a reload');
      assert.equal(await labels(session), 'AEIOU'.repeat(3));
    } finally {
      await session.close();
    }
  });

  test('training on three drawings of each vowel separates them on the map; a new drawing lands on it', async () => {
    const session = await open();
    try {
      await drawVowels(session);
      await session.click('[data-testid=letters-train]');
      const started = await waitFor(session, 'window.latentlab.lab.status()?.heldout && window.latentlab.lab.status()', 'the first step');
      assert.equal(started.backend, 'cpu');
      assert.ok(started.trainImages >= 2000, `${started.trainImages} augmented images`);
      // A link cannot carry the drawings, so the address claims no lab run.
      assert.doesNotMatch(await session.run('return location.search;'), /[?&]lab-/);
      await waitFor(session, 'window.latentlab.lab.status()?.step >= 300', '300 steps', 300000);
      await session.click('[data-testid=lab-play]');
      await waitFor(session, 'window.latentlab.lab.status()?.state === "paused"', 'the lab to pause');
      const trained = await session.run('return await window.latentlab.lab.step();');
      assert.ok(trained.heldout.total < 0.6 * started.heldout.total, `held-out loss ${started.heldout.total} → ${trained.heldout.total}`);
      const legend = await session.run('return [...document.querySelectorAll("[data-testid=lab-legend] li")].map((li) => li.textContent).join("");');
      assert.equal(legend, 'AEIOU');
      await waitFor(session, 'document.querySelector("[data-testid=lab-agreement]")', 'the agreement line');
      // The figures are said to be measured on the drawings trained on: nothing is held out.
      const caption = await text(session, 'lab-views-caption');
      assert.match(caption, /μ of your 15 drawings, whose varied copies it trains on \(there is no held-out set\)/);
      assert.doesNotMatch(caption, /held-out:|test images/);
      assert.doesNotMatch(await text(session, 'lab-status'), /held-out/);

      // On show in every view: the model line names the letters; the map's legend too.
      await session.run('await window.latentlab.lab.use();');
      assert.match(await text(session, 'model-line'), /lab-letters-dense-vae-2d.*trained on your own letters \(A, E, I, O, U\)/);
      assert.match(await text(session, 'model-line'), /−ELBO \d+\.\d nats per image on your 15 drawings/);
      assert.match(await text(session, 'lab-used'), /−ELBO \d+\.\d nats per image on your 15 drawings/);
      assert.doesNotMatch(await text(session, 'lab-used'), /held-out (−ELBO|test images)/);
      // The model is kept in this browser, so the address names it (a reload shows it again);
      // still no lab settings, which could not bring the drawings back.
      // (The address is rewritten at most every so often, so it may name the new model a moment later.)
      const address = await waitFor(session, '/model=lab-letters-dense-vae-2d/.test(location.search) && location.search', 'the address to name the letters model');
      assert.doesNotMatch(address, /[?&]lab-/);
      // How it learned: the letters model has no recorded history, and no other model's is shown.
      await waitFor(session, 'document.querySelector("[data-testid=history-none]")?.textContent.includes("no recorded history")', 'the no-history note');
      assert.equal(await session.run('return document.querySelector("[data-testid=history-views]").offsetParent;'), null);
      const mapLegend = await session.run('return [...document.querySelectorAll(".map-panel .legend li")].map((li) => li.textContent).join("");');
      assert.equal(mapLegend, 'AEIOU');

      // Measured here, not taken from the page: encode each drawing's 28×28 input with the
      // model on show; most drawings' nearest other drawing is of the same letter.
      const thumbnails = [];
      for (let i = 1; i <= 15; i++) {
        const canvas = await session.run(READ_CANVAS, `[data-testid=letter-card]:nth-child(${i}) canvas`);
        thumbnails.push(canvas.grey);
      }
      const { mu } = await session.run('return await window.latentlab.encode(args[0]);', thumbnails);
      const letters = 'AEIOU'.repeat(3);
      const distance = (a, b) => a.reduce((sum, v, d) => sum + (v - b[d]) ** 2, 0);
      const agreeing = mu.filter((m, i) => {
        let nearest = -1;
        mu.forEach((other, j) => { if (j !== i && (nearest < 0 || distance(m, other) < distance(m, mu[nearest]))) nearest = j; });
        return letters[nearest] === letters[i];
      }).length;
      assert.ok(agreeing >= 11, `${agreeing} of 15 drawings sit nearest their own letter`);

      // A new drawing, of a letter not trained on, lands on the map.
      await session.run('document.getElementById("draw-pad").scrollIntoView({ block: "center" });');
      await drawOn(session, '#draw-pad', [[[-60, -80], [60, 80]], [[60, -80], [-60, 80]]]);
      const landed = await waitFor(session, 'document.querySelector("[data-testid=draw-mu]")?.textContent', 'the X\'s encoding');
      assert.match(landed, /^\(−?\d+\.\d\d, −?\d+\.\d\d\)$/);
      await session.run('document.getElementById("map-title").scrollIntoView();');
      saveScreenshot('letters-map', await session.screenshot());
      assert.deepEqual(session.unexpectedErrors(), []);
    } finally {
      await session.close();
    }
  });
});
