// End-to-end: nothing is lost. A model trained in the lab is kept in the browser and comes
// back after a reload (renamed, downloaded, deleted); two tabs keep each other's letters,
// hear of each other's models and take turns to train; after a first visit the page works
// with the server gone; a page whose site was updated under it says so and reloads; and kept
// models are compared side by side.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { openBrowser } from './browser.mjs';
import { serveSite, useSite } from './server.mjs';
import { buildSite, labWorkerLoaders, recordWorkers, saveScreenshot } from './site.mjs';
import { decode, mean, meanAbsDiff, readCanvas, tiles, waitFor, waitForModel } from './page.mjs';
import { drawnLetter } from './drawings.mjs';

const site = useSite('/kept/');

const RUN = '{dataset: "mnist", classes: [0, 1], batch: 32, lr: 0.003, seed: 3, arch: "dense"}';
const keptNames = (session) => session.run('return [...document.querySelectorAll("[data-testid=kept-model]")].map((m) => m.dataset.name);');
const keptTitles = (session) => session.run('return [...document.querySelectorAll("[data-testid=kept-title]")].map((i) => i.value);');
const text = (session, testid) => session.run(`return document.querySelector("[data-testid=${testid}]")?.textContent ?? null;`);

async function open(session, url) {
  await session.goto(url);
  await session.run('await window.latentlab.ready;');
  await waitFor(session, 'document.querySelector("[data-testid=yours-panel]")', 'the your-models panel');
}

/** Trains a short lab run and puts its model on show; returns the model's name. */
async function trainAndUse(session) {
  await session.run(`await window.latentlab.lab.start(${RUN}); await window.latentlab.lab.pause();`);
  await session.run('await window.latentlab.lab.step(20);');
  await session.run('await window.latentlab.lab.use();');
  return session.run('return document.querySelector("[data-testid=model-line]").textContent.match(/Model (lab-[^:]+):/)[1];');
}

describe('nothing is lost', () => {
  test('a model trained in the lab is kept: after a reload it is listed, shown and decodes the same; renamed, downloaded, deleted', async () => {
    const session = await openBrowser();
    try {
      await open(session, `${site.url}?backend=cpu&model=mnist-vae-2d`);
      assert.match(await text(session, 'kept-none'), /None yet/);
      const name = await trainAndUse(session);
      const z = [[0.4, -0.7], [-1.1, 0.9]];
      const before = await decode(session, z);
      await waitFor(session, `document.querySelector("[data-testid=kept-model][data-name='${name}']")`, 'the model in the list');
      assert.match(await text(session, 'storage-line'), /Kept: 1 model\. This site uses [\d.]+ [KMG]B of the [\d.]+ [KMG]B the browser allows it/);
      assert.match(await text(session, 'kept-list'), /A 2-D dense VAE on MNIST digits, trained in the lab; kept .*; [\d.]+ [KM]B\./);
      assert.match(await session.run('return location.search;'), new RegExp(`model=${name}`));

      // A reload (the address names the model) shows it from the browser's storage.
      await session.page.reload();
      await session.run('await window.latentlab.ready;');
      await waitForModel(session, name);
      const after = await decode(session, z);
      assert.ok(meanAbsDiff(after[0], before[0]) < 1e-6 && meanAbsDiff(after[1], before[1]) < 1e-6, 'the kept model decodes differently');
      await waitFor(session, 'document.querySelector("[data-testid=picker-kept]")?.getAttribute("aria-pressed") === "true"', 'the picker\'s pressed button for it');

      // Renamed: the list and the picker say the new name, after a reload too.
      await session.run(`const input = document.querySelector("[data-testid=kept-title]");
        input.value = "zeros and ones"; input.dispatchEvent(new Event("change", { bubbles: true }));`);
      await waitFor(session, 'document.querySelector("[data-testid=picker-kept]")?.textContent === "zeros and ones"', 'the new name in the picker');
      await session.run('await window.latentlab.use("mnist-vae-2d");');
      await session.page.reload();
      await open(session, session.page.url());
      assert.deepEqual(await keptTitles(session), ['zeros and ones']);
      await session.click('[data-testid=kept-show]');
      await waitForModel(session, name);

      // Downloaded: its two files, which load back as they are.
      const downloads = await session.downloads(2, () => session.click('[data-testid=kept-download]'));
      const manifest = JSON.parse(downloads.find((d) => d.name.endsWith('.json')).bytes.toString('utf8'));
      const weights = downloads.find((d) => d.name.endsWith('.bpk')).bytes;
      assert.equal(manifest.name, name);
      assert.equal(createHash('sha256').update(weights).digest('hex'), manifest.sha256);

      // Deleted (two presses): gone from the list, and from the next visit.
      await session.click('[data-testid=kept-delete]');
      assert.match(await text(session, 'kept-delete'), /Delete for good\?/);
      await session.click('[data-testid=kept-delete]');
      await waitFor(session, 'document.querySelector("[data-testid=kept-none]")', 'the empty list');
      await session.goto(`${site.url}?backend=cpu&model=${name}`);
      await session.run('await window.latentlab.ready;');
      await waitForModel(session, 'fashion-mnist-vae-2d');
      assert.match(await text(session, 'notice'), new RegExp(`${name} is neither a shipped model nor one kept in this browser`));

      // Loaded from files, it is kept too.
      await session.run(`const transfer = new DataTransfer();
        for (const { name, base64 } of args[0]) transfer.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name));
        document.querySelector('[data-testid=lab-panel]').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));`,
      downloads.map(({ name, bytes }) => ({ name, base64: bytes.toString('base64') })));
      await waitForModel(session, name);
      await waitFor(session, `document.querySelector("[data-testid=kept-model][data-name='${name}']")?.textContent.includes("loaded from files")`, 'the loaded model in the list');
      saveScreenshot('kept-models', await session.page.locator('[data-testid=yours-panel]').screenshot());
    } finally {
      await session.close();
    }
  });

  test('two tabs: neither loses the other\'s letters, each hears of the other\'s models, and one trains at a time', async () => {
    const first = await openBrowser();
    try {
      await open(first, `${site.url}?backend=cpu&model=mnist-vae-2d`);
      const second = await first.openTab();
      await open(second, `${site.url}?backend=cpu&model=mnist-vae-2d`);
      // Each tab draws a letter on the set it read at start (empty): both are kept.
      for (const [tab, letter] of [[first, 'A'], [second, 'E']]) {
        await tab.run('document.getElementById("letters-pad").scrollIntoView({ block: "center" });');
        for (const stroke of drawnLetter(letter, 0)) await tab.stroke('#letters-pad', stroke);
        await tab.run(`const input = document.querySelector("[data-testid=letters-label]");
          input.value = "${letter}"; input.dispatchEvent(new Event("input", { bubbles: true }));`);
        await tab.click('[data-testid=letters-add]');
      }
      const labels = '[...document.querySelectorAll("[data-testid=letter-label]")].map((i) => i.value).join("")';
      await waitFor(first, `${labels} === "AE"`, 'both letters in the first tab');
      await waitFor(second, `${labels} === "AE"`, 'both letters in the second tab');
      await first.page.reload();
      await open(first, first.page.url());
      assert.equal(await first.run(`return ${labels};`), 'AE');

      // A model kept in one tab is listed in the other at once.
      const name = await trainAndUse(first);
      await waitFor(second, `document.querySelector("[data-testid=picker-kept][data-name='${name}']")`, 'the first tab\'s model in the second');

      // While the first tab trains, the second is told so, and trains once it pauses.
      await first.run('await window.latentlab.lab.play();');
      const refused = await second.run(`try { await window.latentlab.lab.start(${RUN}); return null; } catch (error) { return error.message; }`);
      assert.match(refused ?? 'it trained', /another tab of latentlab is training \(the one opened at .*, showing/);
      assert.match(await text(second, 'lab-status'), /another tab of latentlab is training/);
      await first.run('await window.latentlab.lab.pause();');
      const started = await second.run(`return await window.latentlab.lab.start(${RUN});`);
      assert.ok(started.step >= 1, `the second tab trained ${started.step} steps`);
      await second.run('await window.latentlab.lab.pause();');
    } finally {
      await first.close();
    }
  });

  test('offline: after a first visit the page, and the models it used, work with the server gone', async () => {
    const server = await serveSite(buildSite(), '/offline/');
    const session = await openBrowser();
    try {
      await session.goto(`${server.url}?backend=cpu&model=mnist-vae-2d`);
      await session.run('await window.latentlab.ready;');
      await waitFor(session, 'window.latentlabOffline.state === "ready"', 'the service worker to keep the page', 120000);
      await session.run('await window.latentlab.use("mnist-ae-2d");');
      const z = [[0.2, 0.3]];
      const online = await decode(session, z);
      await waitFor(session, 'document.querySelector("[data-testid=storage-line]")?.textContent.includes("also work with the network off")', 'the offline sentence');
      server.close();

      await session.page.reload();
      await session.run('await window.latentlab.ready;');
      await waitForModel(session, 'mnist-ae-2d');
      assert.ok(meanAbsDiff((await decode(session, z))[0], online[0]) < 1e-6, 'offline, the model decodes differently');
      await session.run('await window.latentlab.use("mnist-vae-2d");');
      await waitForModel(session, 'mnist-vae-2d');
      // A model never used is not there: said in words, and the page keeps its model.
      const missing = await session.run('try { await window.latentlab.use("fashion-mnist-vae-16d"); return null; } catch (error) { return error.message; }');
      assert.match(missing ?? 'it loaded', /could not download/);
      assert.match(await session.run('return document.querySelector("[data-testid=model-line]").textContent;'), /Model mnist-vae-2d:/);
      assert.ok(meanAbsDiff((await decode(session, z))[0], online[0]) > 0.01, 'the page does not decode with mnist-vae-2d');
    } finally {
      server.close();
      await session.close();
    }
  });

  test('an update of the site under an open page: its worker files keep their build\'s names, and the page says to reload', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'latentlab-update-'));
    cpSync(buildSite(), copy, { recursive: true });
    const server = await serveSite(copy, '/update/');
    const session = await openBrowser();
    try {
      await session.page.addInitScript(recordWorkers);
      await session.goto(`${server.url}?backend=cpu&model=mnist-vae-2d`);
      await session.run('await window.latentlab.ready;');
      const engine = await session.run('return window.pageWorkers.map((w) => w.scriptURL);');
      assert.match(engine.join(' '), /engine-worker-(threads-)?[0-9a-f]{16}_loader\.js/);

      // A new build replaces the lab's workers (new names; the threaded one is used here) and the page.
      let page = readFileSync(join(copy, 'index.html'), 'utf8');
      for (const oldLoader of labWorkerLoaders(copy)) {
        const oldStamp = oldLoader.replace(/_loader\.js$/, '');
        const newStamp = oldStamp.replace(/[0-9a-f]{16}$/, '0123456789abcdef');
        for (const file of readdirSync(copy).filter((f) => f.startsWith(oldStamp))) {
          renameSync(join(copy, file), join(copy, file.replace(oldStamp, newStamp)));
        }
        const loader = join(copy, `${newStamp}_loader.js`);
        writeFileSync(loader, readFileSync(loader, 'utf8').replaceAll(oldStamp, newStamp));
        page = page.replaceAll(oldStamp, newStamp);
      }
      const build = page.match(/name="latentlab-build" content="([0-9a-f]+)"/)[1];
      writeFileSync(join(copy, 'index.html'), page.replace(`content="${build}"`, 'content="fedcba9876543210"'));

      // This page's lab worker is gone: the page says the site was updated, and reloads.
      const failed = await session.run(`try { await window.latentlab.lab.start(${RUN}); return null; } catch (error) { return error.message; }`);
      assert.match(failed ?? 'it trained', /training worker could not be loaded/);
      await waitFor(session, 'document.getElementById("internal-error")?.textContent.includes("has been updated since this page was opened")', 'the update banner');
      await session.click('#internal-error button');
      await session.page.waitForLoadState('load');
      await session.run('await window.latentlab.ready;');
      assert.equal(await session.run('return document.querySelector("meta[name=latentlab-build]").content;'), 'fedcba9876543210');
      const started = await session.run(`return await window.latentlab.lab.start(${RUN});`);
      assert.ok(started.step >= 1, 'the new build\'s lab does not train');
    } finally {
      server.close();
      await session.close();
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test('models side by side: two runs that differ only in β; the table marks β, the chart draws both, β = 4\'s map is the tighter', async () => {
    const session = await openBrowser();
    try {
      await open(session, `${site.url}?backend=cpu&model=mnist-vae-2d`);
      assert.match(await text(session, 'side-hint'), /Tick “Compare” on two to four/);
      const names = [];
      for (const beta of [0.1, 4]) {
        await session.run(`await window.latentlab.lab.start({dataset: "mnist", classes: [0, 1], batch: 128, lr: 0.003, seed: 3, arch: "dense", beta: ${beta}});
          await window.latentlab.lab.pause();`);
        // Both runs end at step 300 (start plays until the pause arrives: a few steps).
        await session.run('await window.latentlab.lab.step(300 - window.latentlab.lab.status().step);');
        await session.run('await window.latentlab.lab.use();');
        names.push(await session.run('return document.querySelector("[data-testid=model-line]").textContent.match(/Model (lab-[^:]+):/)[1];'));
      }
      // The same seed and step would give the same name: the second keeps its own.
      assert.notEqual(names[0], names[1]);
      await waitFor(session, 'document.querySelectorAll("[data-testid=kept-model]").length === 2', 'both models in the list');
      for (const name of names) await session.click(`[data-testid=kept-model][data-name='${name}'] [data-testid=kept-compare]`);
      await waitFor(session, '[...document.querySelectorAll("[data-testid=side-spread]")].filter((td) => td.textContent !== "—").length === 2', 'both spreads');

      const rows = await session.run(`return [...document.querySelectorAll("[data-testid=side-table] tbody tr")].map((tr) =>
        ({ row: tr.dataset.row, differs: tr.dataset.differs === "true", values: [...tr.querySelectorAll("td")].map((td) => td.textContent) }));`);
      const row = (label) => rows.find((r) => r.row.startsWith(label));
      assert.deepEqual(row('β'), { row: row('β').row, differs: true, values: ['0.1', '4'] });
      for (const same of ['Data', 'Classes', 'Model', 'Network', 'Latent', 'Batch', 'Learning rate', 'Seed', 'Epochs', 'Training images']) {
        assert.equal(row(same).differs, false, `${same}: ${row(same).values}`);
      }
      assert.deepEqual(rows.filter((r) => r.differs).map((r) => r.row), [row('β').row]);

      // Measured here, from the maps the browser keeps: β = 4 pulls the held-out μ in.
      const measured = await session.run(`
        const database = await new Promise((resolve, reject) => {
          const request = indexedDB.open("latentlab");
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        const half = (h) => {
          const sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
          if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
          return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
        };
        const spreads = [];
        for (const name of args[0]) {
          const files = await new Promise((resolve, reject) => {
            const request = database.transaction("model-files").objectStore("model-files").get(name);
            request.onsuccess = () => resolve(request.result);
            request.onerror = () => reject(request.error);
          });
          const view = new DataView(files.map.buffer, files.map.byteOffset, files.map.byteLength);
          const count = view.getUint32(4, true), latent = view.getUint32(8, true);
          let squares = 0;
          for (let i = 0; i < count * latent; i++) squares += half(view.getUint16(12 + 2 * i, true)) ** 2;
          spreads.push(Math.sqrt(squares / count));
        }
        database.close();
        return spreads;`, names);
      assert.ok(measured[1] < 0.6 * measured[0], `spread of the held-out μ: β = 0.1 ${measured[0]}, β = 4 ${measured[1]}`);
      const shown = await session.run('return [...document.querySelectorAll("[data-testid=side-spread]")].map((td) => Number(td.textContent));');
      shown.forEach((value, i) => assert.ok(Math.abs(value - measured[i]) <= 0.001 * measured[i] + 0.001, `shown ${value}, measured ${measured[i]}`));

      // The chart draws one line per model in its colour; each map is painted.
      const colours = await session.run(`
        const canvas = document.getElementById("side-losses");
        const rgba = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        const near = ([r, g, b]) => { let n = 0; for (let i = 0; i < rgba.length; i += 4) if (Math.abs(rgba[i] - r) + Math.abs(rgba[i + 1] - g) + Math.abs(rgba[i + 2] - b) < 40) n++; return n; };
        return [near([0x7c, 0xc4, 0xff]), near([0xf2, 0x8e, 0x2b])];`);
      assert.ok(colours.every((n) => n > 20), `chart pixels in each model's colour: ${colours}`);
      assert.match(await session.run('return document.getElementById("side-losses").getAttribute("aria-label");'), /one line per model .*→.*; .*→/);
      for (const name of names) {
        const map = await readCanvas(session, `[data-testid=side-model][data-name='${name}'] canvas`);
        assert.ok(map.painted > 100, `${name}'s map: ${map.painted} painted pixels`);
      }
      // Each model's grid is painted, and the two grids differ; each reconstructs the same ten
      // held-out images, and β = 0.1, whose weaker KL term leaves the codes free to carry
      // detail, both scores the lower held-out reconstruction loss and draws the nearer copies.
      await waitFor(session, `${JSON.stringify(names)}.every((name) => !document.getElementById("side-reconstructions-" + name).classList.contains("hidden"))`, 'both reconstruction strips');
      const originals = tiles(await readCanvas(session, '#side-originals'));
      assert.equal(originals.length, 10);
      const grids = [], errors = [];
      for (const name of names) {
        const grid = await readCanvas(session, `#side-grid-${name}`);
        assert.equal(tiles(grid).length, 225, `${name}'s grid`);
        assert.ok(grid.painted > 1000, `${name}'s grid: ${grid.painted} painted pixels`);
        grids.push(grid.grey);
        const copies = tiles(await readCanvas(session, `#side-reconstructions-${name}`));
        errors.push(mean(copies.map((copy, i) => meanAbsDiff(copy, originals[i]))));
      }
      assert.ok(meanAbsDiff(grids[0], grids[1]) > 0.01, 'the two grids differ');
      const reconstruction = row('Held-out reconstruction').values.map(Number);
      assert.ok(reconstruction[0] < reconstruction[1], `held-out reconstruction in the table: ${reconstruction}`);
      assert.ok(errors[0] < errors[1], `mean grey error of the strips: ${errors}`);
      assert.ok(Math.max(...errors) < 0.2, `the reconstructions are near their originals (mean grey error ${errors})`);

      // One PNG: a column per model; its grids are the page's grids.
      const [png] = await session.downloads(1, () => session.click('[data-testid=side-png]'));
      assert.match(png.name, /^compare-.*-vs-.*\.png$/);
      assert.equal(png.bytes.subarray(1, 4).toString('latin1'), 'PNG');
      const [width, height] = [png.bytes.readUInt32BE(16), png.bytes.readUInt32BE(20)];
      assert.equal(width, 12 + 2 * 312, 'two columns');
      const pictureGrids = await session.run(`
        const image = await createImageBitmap(new Blob([Uint8Array.from(atob(args[0]), (c) => c.charCodeAt(0))]));
        const canvas = new OffscreenCanvas(image.width, image.height);
        const ctx = canvas.getContext('2d');
        ctx.drawImage(image, 0, 0);
        // The second row of each column (below the title and the map) is its grid.
        return [0, 1].map((column) => {
          const data = ctx.getImageData(12 + column * 312, 36 + 312, 300, 300).data;
          let painted = 0;
          for (let i = 0; i < data.length; i += 4) if (data[i] > 60) painted++;
          return painted;
        });`, png.bytes.toString('base64'));
      assert.ok(height > 700 && pictureGrids.every((n) => n > 1000), `the picture (${width}×${height}) holds both grids: ${pictureGrids}`);

      await session.run('document.querySelector("[data-testid=side-by-side]").scrollIntoView();');
      saveScreenshot('side-by-side', await session.screenshot());
      await session.run('document.querySelector("[data-testid=side-model]").scrollIntoView();');
      saveScreenshot('side-by-side-models', await session.screenshot());

      // One unticked: the hint again.
      await session.click(`[data-testid=kept-model][data-name='${names[0]}'] [data-testid=kept-compare]`);
      await waitFor(session, 'document.querySelector("[data-testid=side-hint]")', 'the hint');
    } finally {
      await session.close();
    }
  });
});
