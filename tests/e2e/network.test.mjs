// End-to-end: a bad network. A model's download that breaks off, or stalls, is shown with
// its progress, tried again a bounded number of times, and refused in words when it never
// arrives whole; the page keeps the model it shows meanwhile. (Damaged files, refused by
// their checksum, are tested in grid.test.mjs.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBrowser } from './browser.mjs';
import { useSite } from './server.mjs';
import { decode, statusText, waitFor, waitForModel } from './page.mjs';

const requests = {};
const site = useSite('/network/', (root) => {
  const answer = (name, misbehave) => (request, response) => {
    requests[name] = (requests[name] ?? 0) + 1;
    const body = readFileSync(join(root, 'models', `${name}.bpk`));
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-store' });
    if (misbehave(requests[name])) {
      response.write(body.subarray(0, 65536));
      return misbehave(requests[name]) === 'stall'
        ? request.on('close', () => response.destroy())
        : setTimeout(() => response.destroy(), 200);
    }
    response.end(body);
  };
  return {
    // Broken off after 64 KB the first time, whole the second.
    'models/mnist-ae-2d.bpk': answer('mnist-ae-2d', (n) => n === 1 && 'break'),
    // Broken off every time.
    'models/mnist-vae-16d.bpk': answer('mnist-vae-16d', () => 'break'),
    // Stalled after 64 KB the first time.
    'models/fashion-mnist-ae-2d.bpk': answer('fashion-mnist-ae-2d', (n) => n === 1 && 'stall'),
  };
});

// Service workers off: these tests count the page's own tries. (With the site's service
// worker in the way, Chromium now and then sends one more request of its own for a body
// that broke off, seen as 3 requests where the page tried twice: 1 run in 4 here.)
async function open() {
  const session = await openBrowser({ serviceWorkers: 'block' });
  await session.goto(`${site.url}?backend=cpu&model=mnist-vae-2d`);
  await session.run('await window.latentlab.ready;');
  return session;
}

const use = (session, name) =>
  session.run(`try { await window.latentlab.use("${name}"); return null; } catch (error) { return error.message; }`);

describe('a bad network', () => {
  test('a download that breaks off is tried again; one that always does is refused in words, and the page keeps its model', async () => {
    const session = await open();
    try {
      assert.equal(await use(session, 'mnist-ae-2d'), null);
      await waitForModel(session, 'mnist-ae-2d');
      assert.equal(requests['mnist-ae-2d'], 2);
      const [pixels] = await decode(session, [[0.5, 0.5]]);
      assert.ok(pixels.some((v) => v > 0.5), 'the model does not decode');

      const refused = await use(session, 'mnist-vae-16d');
      assert.match(refused ?? 'it loaded', /could not download .*mnist-vae-16d\.bpk: the download broke off after 65536 of \d+ bytes( \(network error\))? \(3 tries\)/);
      assert.equal(requests['mnist-vae-16d'], 3);
      assert.match(await session.run(`return ${statusText};`), /broke off/);
      assert.match(await session.run('return document.querySelector("[data-testid=model-line]").textContent;'), /Model mnist-ae-2d:/);
      assert.deepEqual(await decode(session, [[0.5, 0.5]]), [pixels]);
    } finally {
      await session.close();
    }
  });

  test('a stalled download shows how far it got, is given up after 15 s without data and tried again', async () => {
    const session = await open();
    try {
      const shown = session.run('await window.latentlab.use("fashion-mnist-ae-2d");');
      const progress = await waitFor(session, `(() => {
        const bar = document.querySelector("[data-testid=status] progress");
        return bar && bar.value >= 65536 && ${statusText};
      })()`, 'the progress of the stalled download');
      assert.match(progress, /fashion-mnist-ae-2d/);
      const started = Date.now();
      await shown;
      await waitForModel(session, 'fashion-mnist-ae-2d');
      const waited = Date.now() - started;
      assert.equal(requests['fashion-mnist-ae-2d'], 2);
      assert.ok(waited > 10000, `the stalled download was given up after ${waited} ms`);
    } finally {
      await session.close();
    }
  });
});
