// End-to-end: an error in the page never passes unnoticed. A wasm panic shows the person a
// message with a way back; and any uncaught error or panic fails the test that caused it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPages, openBrowser } from './browser.mjs';
import { useSite } from './server.mjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordWorkers, saveScreenshot, workerLoaders } from './site.mjs';
import { decode, waitFor } from './page.mjs';

const site = useSite('/errors/');
// The same site, with an engine worker that throws, uncaught, when the page posts
// "test:throw" to it (the worker's own code never sees that message).
const throwingSite = useSite('/engine-error/', (root) => Object.fromEntries(workerLoaders(root, 'engine-worker').map((loader) => [
  loader,
  Buffer.from(`
    self.addEventListener('message', (event) => {
      if (event.data !== 'test:throw') return;
      event.stopImmediatePropagation();
      setTimeout(() => { throw new Error('a deliberate engine error'); });
    });
    ${readFileSync(join(root, loader), 'utf8')}`),
])));

async function open() {
  const session = await openBrowser();
  await session.goto(`${site.url}?backend=cpu&model=mnist-vae-2d`);
  await session.run('await window.latentlab.ready;');
  return session;
}

/** Clicks the banner's reload button: the page comes back without it, and decodes. */
async function reloadFromBanner(session) {
  await session.click('#internal-error button');
  await session.page.waitForLoadState('load');
  await session.run('await window.latentlab.ready;');
  assert.equal(await session.run('return document.getElementById("internal-error");'), null);
  const [pixels] = await decode(session, [[0.5, -0.5]]);
  assert.ok(pixels.some((v) => v > 0.5), 'after the reload the page does not decode');
}

describe('errors in the page', () => {
  test('the page\'s security policy lets no injected string run as script', async () => {
    const session = await open();
    try {
      const policy = await session.run('return document.querySelector("meta[http-equiv=Content-Security-Policy]")?.content;');
      assert.match(policy ?? '', /script-src 'self' 'wasm-unsafe-eval' 'sha256-/);
      const scriptSources = policy.split(';').map((d) => d.trim().split(/\s+/)).find(([name]) => name === 'script-src');
      assert.ok(!scriptSources.includes("'unsafe-inline'") && !scriptSources.includes("'unsafe-eval'"), policy);
      const outcome = await session.run(`
        const violations = [];
        document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
        const holder = document.createElement('div');
        holder.innerHTML = '<img src="data:," onerror="window.injected = (window.injected ?? 0) + 1">';
        document.body.append(holder);
        const script = document.createElement('script');
        script.textContent = 'window.injected = (window.injected ?? 0) + 1;';
        document.body.append(script);
        await new Promise((r) => setTimeout(r, 300));
        holder.remove(); script.remove();
        return { injected: window.injected ?? 0, violations };`);
      assert.equal(outcome.injected, 0, 'an injected handler or script ran');
      assert.ok(outcome.violations.length >= 2, `violations reported: ${outcome.violations}`);
      // The page itself is unaffected.
      const [pixels] = await decode(session, [[0.5, -0.5]]);
      assert.ok(pixels.some((v) => v > 0.5));
    } finally {
      await session.close();
    }
  });

  test('a request past the limit is refused in words; a large one runs in batches and leaves the page responsive', async () => {
    const session = await open();
    try {
      const [before] = await decode(session, [[0.4, -0.7]]);
      const refused = await session.run(`try { await window.latentlab.decode(Array.from({ length: 10001 }, () => [0, 0])); return null; }
        catch (e) { return e.message; }`);
      assert.match(refused ?? '', /at most 10000 latent vectors per call, got 10001/);
      const refusedEncode = await session.run(`try { await window.latentlab.encode(Array.from({ length: 2001 }, () => new Float32Array(784))); return null; }
        catch (e) { return e.message; }`);
      assert.match(refusedEncode ?? '', /at most 2000 28×28 images per call/);
      // 1,000 points on the CPU backend take seconds here; no single main-thread task
      // takes more than a share of them (the work is split, and the page gets turns).
      const { total, longest, count } = await session.run(`
        const tasks = [];
        const observer = new PerformanceObserver((list) => tasks.push(...list.getEntries().map((e) => e.duration)));
        observer.observe({ type: 'longtask' });
        const zs = Array.from({ length: 1000 }, (_, i) => [Math.sin(i), Math.cos(i)]);
        const started = performance.now();
        const pixels = await window.latentlab.decode(zs);
        const total = performance.now() - started;
        await new Promise((r) => setTimeout(r, 100));
        observer.disconnect();
        return { total, longest: Math.max(0, ...tasks), count: pixels.length / 784 };`);
      assert.equal(count, 1000);
      assert.ok(longest < 0.6 * total, `the longest task took ${Math.round(longest)} ms of the decode's ${Math.round(total)} ms`);
      // And the page decodes the same pixels as before.
      const [after] = await decode(session, [[0.4, -0.7]]);
      assert.deepEqual(after, before);
    } finally {
      await session.close();
    }
  });

  test('a panic in the wasm shows a message with a reload button that brings the page back', async () => {
    const session = await open();
    try {
      await assert.rejects(session.run('window.latentlab.testing.panic("a deliberate test panic");'), /unreachable/);
      const banner = await waitFor(session, 'document.getElementById("internal-error")?.textContent', 'the internal-error message');
      assert.match(banner, /internal error/);
      assert.match(banner, /a deliberate test panic/);
      saveScreenshot('errors-panic', await session.screenshot());
      // The harness saw it: unless the test declares it, the test fails.
      assert.ok(session.unexpectedErrors().some((e) => /a deliberate test panic/.test(e)), session.unexpectedErrors().join(' | '));
      session.expectError(/a deliberate test panic/);

      await reloadFromBanner(session);
    } finally {
      await session.close();
    }
  });

  test('a model engine that stops says so at the top of the page, with a reload that brings it back', async () => {
    const session = await openBrowser();
    try {
      await session.page.addInitScript(recordWorkers);
      await session.goto(`${throwingSite.url}?backend=cpu&model=mnist-vae-2d`);
      await session.run('await window.latentlab.ready;');
      session.expectError(/a deliberate engine error|model engine/);
      await session.run(`window.pageWorkers.find((w) => w.scriptURL.includes('engine-worker')).postMessage('test:throw');`);
      const banner = await waitFor(session, 'document.getElementById("internal-error")?.textContent', 'the engine-stopped message');
      assert.match(banner, /The model engine stopped .*Reloading the page starts it afresh/);
      const refused = await session.run('try { await window.latentlab.decode([[0, 0]]); return "decoded"; } catch (e) { return e.message; }');
      assert.match(refused, /model engine/);
      await reloadFromBanner(session);
    } finally {
      await session.close();
    }
  });

  test('an uncaught error or a panic message in the page fails the test that caused it', async () => {
    const session = await open();
    await session.run(`setTimeout(() => { throw new Error('a deliberate uncaught error'); }, 0);
      Promise.reject(new Error('a deliberate unhandled rejection'));
      console.error('panicked at src/somewhere.rs:1:1: a deliberate panic message');
      await new Promise((r) => setTimeout(r, 200));`);
    await assert.rejects(checkPages(), (error) => {
      assert.match(error.message, /uncaught: a deliberate uncaught error/);
      assert.match(error.message, /a deliberate unhandled rejection/);
      assert.match(error.message, /a deliberate panic message/);
      return true;
    });
    // Messages the page logs on purpose (a missing file, a refused setting) are not errors.
    const quiet = await open();
    await quiet.run('console.error("could not download models/x.json: HTTP 404"); console.warn("careful");');
    await checkPages();
  });
});
