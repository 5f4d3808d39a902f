// End-to-end: on a high-DPI screen (device scale 2) the plots carry a pixel per device
// pixel, and their text is as sharp on screen as the browser draws it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './browser.mjs';
import { useSite } from './server.mjs';
import { saveScreenshot } from './site.mjs';
import { waitFor, waitForModel } from './page.mjs';

const site = useSite('/crisp/');

/**
 * Of the pixels of the screenshot `png` (base64) inside `box` (device pixels) that carry
 * ink of colour `ink` on background `background`, the share that is neither: the grey
 * fringe of anti-aliasing, which widens to most of the text when a canvas is upscaled.
 */
const FRINGE_SHARE = `
  const [png, box, background, ink] = args;
  // (Not fetched from a data: URL: the page's security policy allows fetches from the site only.)
  const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  const { data } = ctx.getImageData(box.x, box.y, box.width, box.height);
  let inked = 0, fringe = 0;
  for (let i = 0; i < data.length; i += 4) {
    const t = (data[i + 2] - background) / (ink - background);
    if (t > 0.15) inked++;
    if (t > 0.15 && t < 0.85) fringe++;
  }
  return { inked, fringe, share: fringe / Math.max(inked, 1), size: [bitmap.width, bitmap.height] };
`;

describe('crisp plots on a high-DPI screen', () => {
  test('device scale 2: plots have a pixel per device pixel and their text stays sharp', async () => {
    const session = await openBrowser({ deviceScaleFactor: 2 });
    try {
      await session.goto(`${site.url}?backend=cpu&model=mnist-vae-2d`);
      await session.run('await window.latentlab.ready;');
      await waitForModel(session, 'mnist-vae-2d');
      await session.run('document.getElementById("history-losses").scrollIntoView({ block: "center" });');
      const sizes = await waitFor(session, `(() => {
        const sizes = ['history-losses', 'latent-map', 'history-map'].map((id) => {
          const canvas = document.getElementById(id);
          return { id, backing: canvas.width, shown: canvas.getBoundingClientRect().width };
        });
        return sizes.every((s) => s.shown > 0 && Math.abs(s.backing - 2 * s.shown) <= 2) ? sizes : null;
      })()`, 'the plots to be sized for device scale 2');
      assert.equal(sizes.length, 3);

      // The chart's left margin holds only its two axis labels (grey #8a9099 on #0b0d10).
      const chart = session.page.locator('#history-losses');
      const png = await chart.screenshot();
      saveScreenshot('crisp-history-losses-dpr2', png);
      const shown = await chart.boundingBox();
      const labelColumn = { x: 0, y: 0, width: Math.round((44 / 420) * shown.width * 2), height: Math.round(shown.height * 2) };
      const text = await session.run(FRINGE_SHARE, png.toString('base64'), labelColumn, 0x10, 0x99);
      assert.ok(text.inked > 150, `only ${text.inked} inked pixels in the label column: no labels drawn?`);
      assert.ok(text.share < 0.7, `${(100 * text.share).toFixed(0)}% of the labels' pixels are grey fringe: blurry text`);
    } finally {
      await session.close();
    }
  });
});
