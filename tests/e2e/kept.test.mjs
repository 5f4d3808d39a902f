// End-to-end: nothing is lost. A model trained in the lab is kept in the browser and comes
// back after a reload (renamed, downloaded, deleted); two tabs keep each other's letters,
// hear of each other's models and take turns to train; after a first visit the page works
// with the server gone; and a page whose site was updated under it says so and reloads.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { openBrowser } from './browser.mjs';
import { serveSite, useSite } from './server.mjs';
import { buildSite, recordWorkers, saveScreenshot } from './site.mjs';
import { decode, meanAbsDiff, waitFor, waitForModel } from './page.mjs';
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
      assert.match(engine.join(' '), /engine-worker-[0-9a-f]{16}_loader\.js/);

      // A new build replaces the lab's worker (new names) and the page.
      const page = readFileSync(join(copy, 'index.html'), 'utf8');
      const oldLoader = page.match(/name="latentlab-lab-worker" content="(lab-worker-([0-9a-f]{16}))_loader\.js"/);
      const newStamp = 'lab-worker-0123456789abcdef';
      for (const file of readdirSync(copy).filter((f) => f.startsWith(oldLoader[1]))) {
        renameSync(join(copy, file), join(copy, file.replace(oldLoader[1], newStamp)));
      }
      const loader = join(copy, `${newStamp}_loader.js`);
      writeFileSync(loader, readFileSync(loader, 'utf8').replaceAll(oldLoader[1], newStamp));
      const build = page.match(/name="latentlab-build" content="([0-9a-f]+)"/)[1];
      writeFileSync(join(copy, 'index.html'), page.replaceAll(oldLoader[1], newStamp).replace(`content="${build}"`, 'content="fedcba9876543210"'));

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
});
