// End-to-end: lessons as presets. One click queues a lesson's lab runs, which train one
// after the other (the queue pauses, goes on, and drops a cancelled run), each landing in
// the side-by-side view as it is kept; the runs differ as the lesson says they will; and
// the lab shows a run's reconstructions after each epoch.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './browser.mjs';
import { useSite } from './server.mjs';
import { saveScreenshot } from './site.mjs';
import { mean, meanAbsDiff, readCanvas, tiles, waitFor } from './page.mjs';

const site = useSite('/lessons/');

const queueStates = (session) => session.run('return [...document.querySelectorAll("[data-testid=queue-run]")].map((li) => li.dataset.state);');

/** The side-by-side table: each row's label, whether it is marked as differing, its values. */
const sideTable = (session) => session.run(`return [...document.querySelectorAll("[data-testid=side-table] tbody tr")].map((tr) =>
  ({ row: tr.dataset.row, differs: tr.dataset.differs === "true", values: [...tr.querySelectorAll("td")].map((td) => td.textContent) }));`);
const row = (rows, label) => rows.find((r) => r.row.startsWith(label));

async function open(session) {
  await session.goto(`${site.url}?backend=cpu&model=mnist-vae-2d`);
  await session.run('await window.latentlab.ready;');
  await waitFor(session, 'document.querySelector("[data-testid=lessons-panel]")', 'the lessons panel');
}

describe('lessons side by side', () => {
  test('a lesson button queues its runs, says what to look for, pauses and goes on, and lands both runs side by side (2-D vs 8-D)', async () => {
    const session = await openBrowser();
    try {
      await open(session);
      await session.click('[data-testid=lesson-latent]');
      assert.match(await session.run('return document.querySelector("[data-testid=lesson-look-for]").textContent;'), /2-D vs 8-D: .*traversals/);
      await waitFor(session, 'document.querySelector("[data-testid=queue-run][data-state=training]")', 'the first run training');
      assert.deepEqual((await queueStates(session)).slice(1), ['waiting']);

      // Paused, the run stops where it is; it goes on from there.
      await session.click('[data-testid=queue-toggle]');
      await waitFor(session, 'document.querySelector("[data-testid=queue-toggle]").textContent.startsWith("Go on")', 'the queue paused');
      // (A second pause: its promise settles on the worker's fresh status.)
      await session.run('await window.latentlab.lab.pause();');
      const pausedAt = await session.run('return window.latentlab.lab.status().step;');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(await session.run('return window.latentlab.lab.status().step;'), pausedAt, 'no batch while paused');
      assert.ok(pausedAt < 300, `paused at ${pausedAt} of 300`);
      await session.click('[data-testid=queue-toggle]');
      await waitFor(session, 'document.querySelectorAll("[data-testid=queue-run][data-state=kept]").length === 2', 'both runs kept', 240000);
      assert.ok(await session.run('return window.latentlab.lab.status().step;') === 300, 'the second run trained its 300 batches');

      // The lab's reconstructions by epoch (the 8-D run, 300 batches of 100 from 10,000
      // images): the held-out images over three rows, one per epoch, nearer them by the last.
      await waitFor(session, 'document.getElementById("lab-by-epoch").height === 4 * 28', 'a row per epoch', 30000);
      const rowsByEpoch = tiles(await readCanvas(session, '#lab-by-epoch'));
      assert.equal(rowsByEpoch.length, 40);
      const epochError = (row) => mean([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => meanAbsDiff(rowsByEpoch[10 * row + i], rowsByEpoch[i])));
      assert.ok(epochError(3) < epochError(1), `grey error after epoch 1 ${epochError(1)}, after epoch 3 ${epochError(3)}`);
      assert.match(await session.run('return document.getElementById("lab-by-epoch").getAttribute("aria-label");'), /after epochs 1 to 3/);

      // Both are kept under their labels and ticked; the table marks the latent size alone.
      await waitFor(session, '[...document.querySelectorAll("[data-testid=side-table] thead th")].length === 3', 'both in the table');
      const titles = await session.run('return [...document.querySelectorAll("[data-testid=side-table] thead th")].slice(1).map((th) => th.textContent);');
      assert.deepEqual(titles, ['2-D', '8-D']);
      const rows = await sideTable(session);
      assert.deepEqual(rows.filter((r) => r.differs).map((r) => r.row), [row(rows, 'Latent').row]);
      assert.deepEqual(row(rows, 'Epochs').values.length, 2);
      // What the lesson says: the 8-D model reconstructs better, and shows a row per dimension.
      const reconstruction = row(rows, 'Held-out reconstruction').values.map(Number);
      assert.ok(reconstruction[1] < reconstruction[0], `held-out reconstruction, 2-D then 8-D: ${reconstruction}`);
      const names = await session.run('return [...document.querySelectorAll("[data-testid=side-model]")].map((f) => f.dataset.name);');
      await waitFor(session, `document.getElementById("side-traversals-${names[1]}")`, 'the 8-D traversals');
      let traversals;
      for (const until = Date.now() + 60000; Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 250))) {
        traversals = await readCanvas(session, `#side-traversals-${names[1]}`);
        if (traversals.painted > 500) break;
      }
      assert.equal(traversals.height, 8 * 28, 'a row per dimension');
      assert.ok(traversals.painted > 500, `traversals painted: ${traversals.painted}`);
      assert.equal(await session.run(`return document.getElementById("side-traversals-${names[0]}");`), null, 'no traversals for 2-D');
      // Each run's reconstructions by epoch were kept with it: the side-by-side view shows them.
      for (const name of names) {
        const kept = await readCanvas(session, `#side-by-epoch-${name}`);
        assert.equal(kept.height, 4 * 28, `${name}: the images and three epochs`);
        assert.ok(kept.painted > 500, `${name}: ${kept.painted} painted pixels`);
      }
      await session.run('document.querySelector("[data-testid=lessons-panel]").scrollIntoView();');
      saveScreenshot('lesson-latent', await session.screenshot());

      // The address names the lesson and the comparison: reloaded, the lesson is set up (not
      // trained again) and the same two models sit side by side.
      await waitFor(session, `location.search.includes("lesson=latent") && location.search.includes("compare=${names.join(',')}")`, 'the address');
      await session.goto(await session.run('return location.href;'));
      await session.run('await window.latentlab.ready;');
      await waitFor(session, 'document.querySelector("[data-testid=lesson-train]")', 'the lesson set up');
      assert.match(await session.run('return document.querySelector("[data-testid=lesson-look-for]").textContent;'), /^2-D vs 8-D/);
      assert.equal(await session.run('return document.querySelectorAll("[data-testid=queue-run]").length;'), 0, 'nothing trains by itself');
      await waitFor(session, '[...document.querySelectorAll("[data-testid=side-table] thead th")].length === 3', 'the comparison back');
      assert.deepEqual(await session.run('return [...document.querySelectorAll("[data-testid=side-model]")].map((f) => f.dataset.name);'), names);
    } finally {
      await session.close();
    }
  });

  test('KL off vs on: without the KL term the held-out KL and the map\'s spread grow; a cancelled run is not kept', async () => {
    const session = await openBrowser();
    try {
      await session.goto(`${site.url}?backend=cpu&lesson=nope`);
      await session.run('await window.latentlab.ready;');
      await waitFor(session, 'document.querySelector("[data-testid=lesson-problem]")', 'the unknown lesson said');
      assert.match(await session.run('return document.querySelector("[data-testid=lesson-problem]").textContent;'), /“nope”, which is not one of these \(kl, beta/);
      await open(session);
      const refused = await session.run('try { await window.latentlab.lab.lesson("nope"); return "resolved"; } catch (e) { return e.message; }');
      assert.match(refused, /"nope" is not a lesson; the lessons are kl, beta, ae, subset, latent, network/);

      const names = await session.run('return await window.latentlab.lab.lesson("kl", {steps: 200});');
      assert.equal(names.length, 2);
      await waitFor(session, '[...document.querySelectorAll("[data-testid=side-spread]")].filter((td) => td.textContent !== "—").length === 2', 'both spreads');
      const rows = await sideTable(session);
      assert.deepEqual(row(rows, 'β').values, ['0', '1']);
      const kl = row(rows, 'Held-out KL').values.map(Number);
      assert.ok(kl[0] > 2 * kl[1], `held-out KL without the term ${kl[0]}, with it ${kl[1]}`);
      const spreads = await session.run('return [...document.querySelectorAll("[data-testid=side-spread]")].map((td) => Number(td.textContent));');
      assert.ok(spreads[0] > 1.5 * spreads[1], `map spread without the KL term ${spreads[0]}, with it ${spreads[1]}`);

      // β: the last run is cancelled while it waits, the first while it trains.
      await session.run('window.lessonDone = window.latentlab.lab.lesson("beta", {steps: 150});');
      await waitFor(session, 'document.querySelector("[data-testid=queue-run][data-state=training]")', 'the first run training');
      await session.click('[data-testid=queue-run]:nth-child(3) [data-testid=queue-cancel]');
      await session.click('[data-testid=queue-run]:nth-child(1) [data-testid=queue-cancel]');
      const kept = await session.run('return await window.lessonDone;');
      assert.deepEqual(await queueStates(session), ['cancelled', 'kept', 'cancelled']);
      assert.equal(kept.length, 1);
      const ticked = await session.run('return [...document.querySelectorAll("[data-testid=kept-compare]")].filter((c) => c.checked).map((c) => c.closest("[data-testid=kept-model]").dataset.name);');
      assert.deepEqual(ticked, kept, 'only the kept run is ticked');
      assert.match(await session.run('return document.querySelector("[data-testid=side-hint]").textContent;'), /two to four/);
    } finally {
      await session.close();
    }
  });

  test('the lab form queues its own runs: two seeds train one after the other and land side by side', async () => {
    const session = await openBrowser();
    try {
      await session.goto(`${site.url}?backend=cpu&lab-arch=dense&lab-classes=0,1&lab-beta=4&lab-seed=1`);
      await session.run('await window.latentlab.ready;');
      await waitFor(session, 'document.querySelector("[data-testid=lab-queue]")', 'the queue button');
      const change = (testid, value) => session.run(`const input = document.querySelector("[data-testid=${testid}]");
        input.value = "${value}"; input.dispatchEvent(new Event("change", { bubbles: true }));`);
      await change('lab-queue-steps', 60);
      await session.click('[data-testid=lab-queue]');
      await change('lab-seed', 2);
      await session.click('[data-testid=lab-queue]');
      assert.match(await session.run('return document.querySelector("[data-testid=lab-queue-note]").textContent;'), /queued run\(s\) left/);
      await waitFor(session, 'document.querySelectorAll("[data-testid=queue-run][data-state=kept]").length === 2', 'both queued runs kept', 120000);
      await waitFor(session, '[...document.querySelectorAll("[data-testid=side-table] thead th")].length === 3', 'both side by side');
      const titles = await session.run('return [...document.querySelectorAll("[data-testid=side-table] thead th")].slice(1).map((th) => th.textContent);');
      assert.deepEqual(titles, ['dense VAE, β 4, 2-D, MNIST digits 0,1, seed 1', 'dense VAE, β 4, 2-D, MNIST digits 0,1, seed 2']);
      const rows = await sideTable(session);
      assert.deepEqual(rows.filter((r) => r.differs).map((r) => r.row), [row(rows, 'Seed').row]);
      assert.equal(await session.run('return window.latentlab.lab.status().step;'), 60);
    } finally {
      await session.close();
    }
  });
});
