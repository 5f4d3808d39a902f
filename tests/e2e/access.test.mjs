// End-to-end: axe-core (npm, pinned in tools/) finds no WCAG 2 A/AA violation on any view of
// the page: the first paint before any wasm, the explorer with a 2-D and a 16-D model, a
// drawing encoded, the lab with a run paused, and the letters workshop with a letter.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBrowser } from './browser.mjs';
import { useSite } from './server.mjs';
import { REPO, saveScreenshot } from './site.mjs';
import { waitFor } from './page.mjs';

const AXE = readFileSync(join(REPO, 'tools', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const site = useSite('/access/');

/** axe's WCAG 2.0/2.1 A and AA violations on the page as it is now, one line each. */
async function violations(session) {
  // Straight through playwright: the first paint has no `window.latentlab` to wait for.
  if (!(await session.page.evaluate(() => !!window.axe))) await session.page.addScriptTag({ content: AXE });
  return session.page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')})`);
  });
}

// The page's own policy forbids foreign scripts; axe is one, so these sessions set it aside.
const open = () => openBrowser({ webgpu: false, bypassCSP: true });

describe('accessibility (axe-core, WCAG 2 A/AA) on every view', () => {
  test('the first paint, before any wasm', async () => {
    const session = await open();
    try {
      session.expectError(/WebAssembly|Failed to fetch|wasm|fetch/i);
      await session.page.route('**/*.wasm', (route) => route.abort());
      await session.goto(`${site.url}?backend=cpu`);
      await session.page.waitForSelector('#first-paint');
      assert.deepEqual(await violations(session), []);
    } finally {
      await session.close();
    }
  });

  test('the explorer with a 2-D model, a drawing encoded and a test image in the tray', async () => {
    const session = await open();
    try {
      await session.goto(`${site.url}?backend=cpu&model=mnist-vae-2d`);
      await session.run('await window.latentlab.ready;');
      await session.run('document.getElementById("draw-pad").scrollIntoView({ block: "center" });');
      const ring = Array.from({ length: 25 }, (_, i) => [40 * Math.sin((2 * Math.PI * i) / 24), -60 * Math.cos((2 * Math.PI * i) / 24)]);
      await session.stroke('#draw-pad', ring);
      await waitFor(session, 'document.querySelector("[data-testid=draw-mu]")?.textContent', 'the drawing encoded');
      await session.click('[data-testid=tray-random]');
      await waitFor(session, 'document.querySelectorAll("[data-testid=tray-item]").length >= 1', 'a tray item');
      assert.deepEqual(await violations(session), []);
      saveScreenshot('access-explorer', await session.screenshot());
    } finally {
      await session.close();
    }
  });

  test('the explorer with a 16-D model', async () => {
    const session = await open();
    try {
      await session.goto(`${site.url}?backend=cpu&model=mnist-vae-16d`);
      await session.run('await window.latentlab.ready;');
      assert.deepEqual(await violations(session), []);
    } finally {
      await session.close();
    }
  });

  test('the lab with a run paused, and the letters workshop with a letter', async () => {
    const session = await open();
    try {
      await session.goto(`${site.url}?backend=cpu`);
      await session.run('await window.latentlab.ready;');
      await session.run('await window.latentlab.lab.start({dataset: "mnist", arch: "dense", classes: [1, 7], batch: 32, seed: 1});');
      await session.run('await window.latentlab.lab.pause();');
      await waitFor(session, 'document.querySelector("[data-testid=lab-status]")?.textContent.includes("aused")', 'the paused run');
      await session.run('document.getElementById("letters-pad").scrollIntoView({ block: "center" });');
      await session.stroke('#letters-pad', [[-30, 40], [0, -50], [30, 40]]);
      await session.click('[data-testid=letters-add]');
      await waitFor(session, 'document.querySelectorAll("[data-testid=letter-card]").length === 1', 'the letter in the list');
      assert.deepEqual(await violations(session), []);
    } finally {
      await session.close();
    }
  });

  test('from the keyboard: Tab reaches the grid and the map, with a visible focus; arrow keys choose a cell and move a pinned point, both read out', async () => {
    const session = await open();
    try {
      await session.goto(`${site.url}?backend=cpu&model=mnist-vae-2d`);
      await session.run('await window.latentlab.ready;');
      const tabTo = async (id) => {
        for (let presses = 0; presses < 80; presses++) {
          await session.page.keyboard.press('Tab');
          if ((await session.run('return document.activeElement?.id;')) === id) return presses + 1;
        }
        throw new Error(`Tab never reached #${id}`);
      };
      await tabTo('latent-grid');
      const outline = await session.run('const s = getComputedStyle(document.activeElement); return s.outlineStyle + " " + s.outlineWidth;');
      assert.doesNotMatch(outline, /^none/, `the focused grid shows no outline (${outline})`);
      // Focus chooses the middle cell; right, then up.
      await session.page.keyboard.press('ArrowRight');
      await session.page.keyboard.press('ArrowUp');
      const words = await waitFor(session, 'document.querySelector("[data-testid=grid-chosen]")?.textContent', 'the chosen cell in words');
      assert.match(words, /row 7 of 15, column 9 of 15: the decoder's image of z = \(0\.16, 0\.16\).*The nearest test image is a \w/);
      await session.page.keyboard.press('Enter');
      const sliders = await waitFor(session, `(() => { const v = [...document.querySelectorAll("[data-testid=latent-slider]")].map((s) => Number(s.value)); return Math.abs(v[0] - 0.16) < 0.01 && v; })()`, 'the sliders at the cell');
      assert.ok(Math.abs(sliders[1] - 0.16) < 0.01, `sliders at ${sliders}`);

      await tabTo('latent-map');
      await session.page.keyboard.press('ArrowRight');
      const pinned = await waitFor(session, 'document.querySelector("[data-testid=pinned-z]")?.textContent', 'a pinned point');
      assert.match(pinned, /^\(/);
      assert.match(await session.run('return document.querySelector("[data-testid=pinned-nearest]").textContent;'), /The nearest test image is #\d+, a \w/);
      const before = JSON.parse((await session.run('return document.getElementById("pinned-decode").dataset.z;')) ?? 'null');
      await session.page.keyboard.press('Shift+ArrowUp');
      await waitFor(session, `document.getElementById("pinned-decode").dataset.z !== ${JSON.stringify(JSON.stringify(before))}`, 'the pinned point to move up');
      const after = JSON.parse(await session.run('return document.getElementById("pinned-decode").dataset.z;'));
      assert.ok(after[0][1] > before[0][1], `up moved z₂ from ${before[0][1]} to ${after[0][1]}`);
      await session.page.keyboard.press('Escape');
      await waitFor(session, 'document.querySelector(".pinned").classList.contains("hidden")', 'the point unpinned');
    } finally {
      await session.close();
    }
  });

  test('every canvas says what it shows; the sliders\' image names its point and the class there', async () => {
    const session = await open();
    try {
      await session.goto(`${site.url}?backend=cpu&model=mnist-vae-2d&z=0.5,-1`);
      await session.run('await window.latentlab.ready;');
      await session.click('[data-testid=tray-random]');
      await session.click('[data-testid=tray-random]');
      await waitFor(session, 'document.querySelectorAll("[data-testid=tray-item]").length >= 2', 'two tray items');
      const unlabelled = await session.run(`return [...document.querySelectorAll('canvas')]
        .filter((c) => !c.closest('[aria-hidden=true]'))
        .filter((c) => !['img', 'application'].includes(c.getAttribute('role')) && !c.classList.contains('draw-pad')
          || !(c.getAttribute('aria-label') ?? '').trim())
        .map((c) => c.id || c.className);`);
      assert.deepEqual(unlabelled, [], 'canvases with no text alternative');
      const label = () => session.run('return document.getElementById("slider-decode").getAttribute("aria-label");');
      assert.match(await label(), /the sliders' point z = \(0\.50, −1\.00\); the nearest test image there is a \d/);
      await session.press('#slider-0', 'ArrowRight', 10);
      await waitFor(session, 'document.getElementById("slider-decode").getAttribute("aria-label").includes("(0.60, −1.00)")', 'the label to follow the slider');
    } finally {
      await session.close();
    }
  });

  test('Tab reaches every control on the page, each with a visible focus', async () => {
    const session = await open();
    try {
      await session.goto(`${site.url}?backend=cpu&model=mnist-vae-2d`);
      await session.run('await window.latentlab.ready;');
      // Two tray items, so that the interpolation's controls are on show too.
      await session.click('[data-testid=tray-random]');
      await session.click('[data-testid=tray-random]');
      await waitFor(session, 'document.querySelectorAll("[data-testid=tray-item]").length >= 2', 'two tray items');
      // Every control a person could use: shown, enabled, not taken out of the tab order.
      const controls = await session.run(`
        const all = [...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')];
        const usable = all.filter((e) => !e.disabled && e.tabIndex >= 0 && e.checkVisibility({ visibilityProperty: true }));
        usable.forEach((e, i) => { e.dataset.control = String(i); });
        return usable.map((e) => e.id || e.dataset.testid || e.textContent.trim().slice(0, 30) || e.outerHTML.slice(0, 60));`);
      assert.ok(controls.length > 40, `${controls.length} controls found`);
      const reached = new Map();
      await session.run('document.activeElement?.blur(); window.scrollTo(0, 0);');
      for (let presses = 0; presses < controls.length + 60 && reached.size < controls.length; presses++) {
        await session.page.keyboard.press('Tab');
        const focused = await session.run(`const e = document.activeElement;
          if (!e || e === document.body) return null;
          const s = getComputedStyle(e);
          const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
          return { control: e.dataset.control ?? null, ring, what: e.id || e.dataset.testid || e.tagName };`);
        if (!focused?.control) continue;
        reached.set(focused.control, focused);
      }
      const missed = controls.filter((_, i) => !reached.has(String(i)));
      assert.deepEqual(missed, [], 'controls that Tab never reaches');
      const unringed = [...reached.values()].filter((f) => !f.ring).map((f) => f.what);
      assert.deepEqual(unringed, [], 'controls that show no focus when reached by Tab');
    } finally {
      await session.close();
    }
  });

  test('with reduced motion asked for, the morph stands still until played', async () => {
    const session = await open();
    try {
      await session.page.emulateMedia({ reducedMotion: 'reduce' });
      await session.goto(`${site.url}?backend=cpu&model=mnist-vae-2d`);
      await session.run('await window.latentlab.ready;');
      await session.click('[data-testid=tray-random]');
      await session.click('[data-testid=tray-random]');
      await waitFor(session, 'document.querySelectorAll("[data-testid=tray-item]").length >= 2', 'two tray items');
      const morph = 'document.getElementById("interpolation-morph").toDataURL()';
      const inked = `(() => { const c = document.getElementById("interpolation-morph");
        return c.getContext("2d").getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 === 0 && v > 64); })()`;
      await waitFor(session, inked, 'the morph painted');
      assert.equal(await session.run('return document.querySelector("[data-testid=morph-play]").getAttribute("aria-pressed");'), 'false');
      const still = await session.run(`return ${morph};`);
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(await session.run(`return ${morph};`), still, 'the morph moved by itself');
      await session.click('[data-testid=morph-play]');
      await waitFor(session, `${morph} !== ${JSON.stringify(still)}`, 'the morph to play once asked');
    } finally {
      await session.close();
    }
  });
});
