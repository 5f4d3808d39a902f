// End-to-end: a lab run in progress is never lost. Its worker sends a checkpoint every few
// seconds and when it pauses; the page keeps it in IndexedDB under its tab. A reload, or a
// closed tab, goes on from the last checkpoint (paused, and saying so) without taking a
// run another open tab still has; a crashed worker is said and restarted from it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBrowser } from './browser.mjs';
import { useSite } from './server.mjs';
import { labWorkerLoaders, recordWorkers, saveScreenshot } from './site.mjs';
import { decode, meanAbsDiff, waitFor } from './page.mjs';

const site = useSite('/resume/');
// The same site, with a lab worker that throws an uncaught error and ends itself when the
// page posts it "test:crash" (the worker's own code never sees that message): a crash.
// Both lab workers get it: the multi-threaded one trains on the CPU where the page is
// cross-origin isolated, as this server makes it.
const crashingSite = useSite('/resume-crash/', (root) => Object.fromEntries(labWorkerLoaders(root).map((loader) => [
  loader,
  Buffer.from(`
    self.addEventListener('message', (event) => {
      if (event.data !== 'test:crash') return;
      event.stopImmediatePropagation();
      setTimeout(() => self.close(), 0);
      throw new Error('test: the worker ran out of memory');
    });
    ${readFileSync(join(root, loader), 'utf8')}`),
])));

const RUN = '{dataset: "mnist", classes: [0, 1], batch: 32, lr: 0.003, seed: 3, arch: "dense"}';
const Z = [[0.4, -0.7], [-1.1, 0.9]];
const status = (session) => session.run('return window.latentlab.lab.status();');
const text = (session, testid) => session.run(`return document.querySelector("[data-testid=${testid}]")?.textContent ?? "";`);

async function open(session, url) {
  await session.goto(url);
  await session.run('await window.latentlab.ready;');
}

/** Waits for the lab to say its run is kept at `step`. */
const waitForCheckpoint = (session, step) =>
  waitFor(session, `document.querySelector("[data-testid=lab-checkpoint]")?.textContent.includes("at step ${step}:")`, `the checkpoint at step ${step}`);

/** Waits for a resumed run, paused at `step`, that says so. */
async function waitForResumed(session, step) {
  await waitFor(session, `window.latentlab.lab.status()?.state === "paused" && window.latentlab.lab.status()?.step === ${step}`, `the run resumed at step ${step}`);
  assert.match(await text(session, 'lab-message'), new RegExp(`Resumed from its last checkpoint, kept in this browser: step ${step}, paused\\. Press Play`));
}

/** What the lab's model decodes at Z, once on show. */
async function decodedByLab(session) {
  await session.run('await window.latentlab.lab.use();');
  return decode(session, Z);
}

describe('a lab run survives reloads, closed tabs and crashes', () => {
  test('a reload goes on from the last checkpoint, paused; a second open tab leaves the run alone; a closed tab\'s run is taken up', async () => {
    const first = await openBrowser();
    try {
      await open(first, `${site.url}?backend=cpu&model=mnist-vae-2d`);
      assert.equal(await text(first, 'lab-checkpoint'), '', 'a checkpoint before any run');
      await first.run(`await window.latentlab.lab.start(${RUN}); await window.latentlab.lab.pause();`);
      const at = (await first.run('return await window.latentlab.lab.step(30);')).step;
      await waitForCheckpoint(first, at);
      const trained = await decodedByLab(first);

      // Reloaded: the run is back, paused at its step with the same weights, and trains on.
      await first.page.reload();
      await first.run('await window.latentlab.ready;');
      await waitForResumed(first, at);
      const resumed = await decodedByLab(first);
      assert.ok(meanAbsDiff(resumed[0], trained[0]) < 1e-6 && meanAbsDiff(resumed[1], trained[1]) < 1e-6, 'the resumed run has other weights');
      assert.equal((await first.run('return await window.latentlab.lab.step(5);')).step, at + 5);
      await waitForCheckpoint(first, at + 5);
      await saveScreenshot(first.page, 'lab-resumed');

      // A second tab, while the first is open, does not take the first tab's run…
      const second = await first.openTab();
      await open(second, `${site.url}?backend=cpu`);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.equal(await second.run('return window.latentlab.lab.status();'), null, 'the second tab took the open tab\'s run');

      // …but once the first tab is closed, a new one goes on from its checkpoint.
      await first.page.close();
      const third = await second.openTab();
      await open(third, `${site.url}?backend=cpu`);
      await waitForResumed(third, at + 5);
      assert.equal(await second.run('return window.latentlab.lab.status();'), null);

      // Closing the lab forgets the run: the next visit starts with none.
      await third.click('[data-testid=lab-close]');
      await third.page.reload();
      await third.run('await window.latentlab.ready;');
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.equal(await third.run('return window.latentlab.lab.status();'), null, 'a closed lab\'s run came back');
    } finally {
      await first.close();
    }
  });

  test('a crashed worker is said, and restarts from the last checkpoint', async () => {
    const session = await openBrowser();
    try {
      session.expectError(/test: the worker ran out of memory/);
      await session.page.addInitScript(recordWorkers);
      await open(session, `${crashingSite.url}?backend=cpu`);
      await session.run(`await window.latentlab.lab.start(${RUN}); await window.latentlab.lab.pause();`);
      const at = (await session.run('return await window.latentlab.lab.step(20);')).step;
      await waitForCheckpoint(session, at);
      await session.run('window.latentlab.lab.play();');
      const crashed = session.run('return await window.latentlab.lab.step(100000).then(() => "settled", (e) => e.message);');
      await session.run('window.pageWorkers.filter((w) => w.scriptURL.includes("lab-worker")).forEach((w) => w.postMessage("test:crash"));');
      assert.match(await crashed, /the training worker stopped with an error \(.*test: the worker ran out of memory\)\. Restart it to go on from step \d+, its last checkpoint/);
      const kept = Number((await text(session, 'lab-checkpoint')).match(/at step (\d+):/)[1]);
      assert.ok(kept >= at, `checkpoint at step ${kept}`);
      assert.match(await text(session, 'lab-status'), /The lab stopped: the training worker stopped with an error/);
      await saveScreenshot(session.page, 'lab-crashed');

      await session.click('[data-testid=lab-restart]');
      await waitForResumed(session, kept);
      assert.equal(await text(session, 'lab-restart'), '', 'the restart button stays after the restart');
      assert.equal((await session.run('return await window.latentlab.lab.step(3);')).step, kept + 3);
    } finally {
      await session.close();
    }
  });
});
