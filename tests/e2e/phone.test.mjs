// End-to-end: the page on a phone (390×844 CSS pixels, touch, 3× density): every view and
// the lab's controls fit without sideways scrolling, and the pads take real touch strokes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './browser.mjs';
import { useSite } from './server.mjs';
import { saveScreenshot } from './site.mjs';
import { waitFor } from './page.mjs';

const site = useSite('/phone/');
const ring = Array.from({ length: 25 }, (_, i) => [35 * Math.sin((2 * Math.PI * i) / 24), -55 * Math.cos((2 * Math.PI * i) / 24)]);

/** Elements wider than the screen or reaching past its right edge, as "tag#id.class (left–right)". */
const OVERFLOW = `
  const width = document.documentElement.clientWidth;
  const out = [...document.querySelectorAll('body *')].filter((e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && (r.left < -1 || r.right > width + 1) && !e.closest('.hidden, [hidden]');
  });
  return { width, scrollWidth: document.documentElement.scrollWidth,
    out: out.slice(0, 8).map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') + ' (' + Math.round(e.getBoundingClientRect().left) + '–' + Math.round(e.getBoundingClientRect().right) + ')') };`;

async function fitsTheScreen(session, where) {
  const { width, scrollWidth, out } = await session.run(OVERFLOW);
  assert.equal(width, 390, `${where}: the page is laid out ${width} px wide`);
  assert.ok(scrollWidth <= width, `${where}: the page scrolls sideways (${scrollWidth} px wide): ${out.join(', ')}`);
  assert.deepEqual(out, [], `${where}: past the screen's edge`);
}

describe('the page on a phone (390×844, touch)', () => {
  test('the explorer fits, and the draw pad takes a finger stroke, encoded and reconstructed', async () => {
    const session = await openBrowser({ phone: true });
    try {
      await session.goto(`${site.url}?backend=cpu&model=mnist-vae-2d`);
      await session.run('await window.latentlab.ready;');
      await fitsTheScreen(session, 'the explorer');
      saveScreenshot('phone-explorer', await session.screenshot());
      await session.touchStroke('#draw-pad', ring);
      const mu = await waitFor(session, 'document.querySelector("[data-testid=draw-mu]")?.textContent', 'the touch drawing encoded');
      assert.match(mu, /\(/);
      await session.tap('[data-testid=draw-add]');
      await waitFor(session, 'document.querySelectorAll("[data-testid=tray-item]").length >= 1', 'the drawing in the tray');
      await session.tap('[data-testid=tray-random]');
      await waitFor(session, 'document.querySelectorAll("[data-testid=tray-item]").length >= 2', 'a test image in the tray');
      await fitsTheScreen(session, 'the explorer with a drawing and an interpolation');
      await session.run('document.getElementById("draw-pad").scrollIntoView({ block: "center" });');
      saveScreenshot('phone-draw', await session.screenshot());
      // A tap on the map pins a point there.
      await session.tap('#latent-map', 20, -20);
      await waitFor(session, 'document.querySelector("[data-testid=pinned-z]")?.textContent', 'a point pinned by a tap');
    } finally {
      await session.close();
    }
  });

  test('the lab and the letters workshop fit and work by touch', async () => {
    const session = await openBrowser({ phone: true });
    try {
      await session.goto(`${site.url}?backend=cpu&model=mnist-vae-2d`);
      await session.run('await window.latentlab.ready;');
      await session.run('document.getElementById("letters-pad").scrollIntoView({ block: "center" });');
      // An A's two legs, as a finger draws them (point by point).
      const legs = Array.from({ length: 21 }, (_, i) => (i <= 10 ? [-30 + 3 * i, 45 - 9.5 * i] : [3 * (i - 10), -50 + 9.5 * (i - 10)]));
      await session.touchStroke('#letters-pad', legs);
      await waitFor(session, '!document.querySelector("[data-testid=letters-add]").disabled', 'the stroke taken by the letters pad');
      await session.tap('[data-testid=letters-add]');
      await waitFor(session, 'document.querySelectorAll("[data-testid=letter-card]").length === 1', 'the touch letter in the list');
      await fitsTheScreen(session, 'the letters workshop');
      saveScreenshot('phone-letters', await session.screenshot());
      await session.run('document.querySelector("[data-testid=lab-panel]").scrollIntoView({ block: "start" });');
      await session.run('await window.latentlab.lab.start({dataset: "mnist", arch: "dense", classes: [1, 7], batch: 32, seed: 1});');
      await session.run('await window.latentlab.lab.pause();');
      await session.tap('[data-testid=lab-step]');
      await waitFor(session, 'window.latentlab.lab.status()?.step >= 2', 'a step tapped');
      await fitsTheScreen(session, 'the lab with a run');
      const controls = await session.run(`return [...document.querySelectorAll('[data-testid^=lab-]')].filter((e) => e.matches('button, input, select') && e.offsetParent)
        .map((e) => { const r = e.getBoundingClientRect(); return { id: e.dataset.testid, left: r.left, right: r.right, height: r.height }; });`);
      assert.ok(controls.length >= 8, `${controls.length} lab controls shown`);
      for (const c of controls) {
        assert.ok(c.left >= 0 && c.right <= 390, `${c.id} lies at ${c.left}–${c.right}`);
      }
      await session.run('document.querySelector("[data-testid=lab-panel]").scrollIntoView({ block: "start" });');
      saveScreenshot('phone-lab', await session.screenshot());
    } finally {
      await session.close();
    }
  });
});
