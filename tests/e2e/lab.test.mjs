// End-to-end: the training lab trains the real model in its worker on the shipped data,
// the page stays usable meanwhile, and the result becomes a model like the shipped ones.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './browser.mjs';
import { useSite } from './server.mjs';
import { deviceLosingLoader, recordWorkers, saveScreenshot, workerLoader } from './site.mjs';
import { decode, meanAbsDiff, waitFor, waitForModel } from './page.mjs';

const site = useSite('/lab/');
// The same site, with a lab worker whose WebGPU device the test can lose.
const losingSite = useSite('/lab-loss/', (root) => {
  const loader = workerLoader(root, 'lab-worker');
  return { [loader]: deviceLosingLoader(root, loader) };
});

async function open(query = '?backend=cpu', webgpu = false) {
  const session = await openBrowser({ webgpu });
  await session.goto(`${site.url}${query}`);
  await session.run('await window.latentlab.ready;');
  return session;
}

const status = (session) => session.run('return window.latentlab.lab.status();');

/** Runs `steps` more steps one at a time (each resolves once it has run). */
async function steps(session, count) {
  for (let i = 0; i < count; i++) await session.run('await window.latentlab.lab.step();');
  return status(session);
}

describe('the training lab in headless Chromium', () => {
  test('CPU backend: Step, Play and Pause train the real model and lower the loss; sliders answer meanwhile', async () => {
    const session = await open();
    try {
      // A small class subset and batch keep the test quick; the settings reach the address.
      const first = await session.run(
        'return await window.latentlab.lab.start({dataset: "mnist", classes: [0, 1], batch: 32, lr: 0.003, seed: 3});',
      );
      assert.equal(first.backend, 'cpu');
      assert.ok(first.step >= 1, `start resolved at step ${first.step}`);
      assert.ok(first.trainImages > 1500 && first.trainImages < 2500, `${first.trainImages} images of 0s and 1s`);
      const search = await session.run('return location.search;');
      assert.match(search, /lab-dataset=mnist/);
      assert.match(search, /lab-classes=0,1/);
      assert.match(search, /lab-batch=32/);
      // The caption names what the held-out figures are measured on: the 0s and 1s among
      // the first 1,000 test images, fewer than the 250 a full run measures.
      const caption = await session.run('return document.querySelector("[data-testid=lab-views-caption]").textContent;');
      const heldout = Number(caption.match(/μ of (\d+) held-out test images/)?.[1]);
      assert.ok(heldout > 100 && heldout < 250, `${heldout} held-out images of 0s and 1s: ${caption}`);
      assert.match(caption, new RegExp(`held-out: all ${heldout} of them`));

      // Pause stops the step count.
      const paused = await session.run('return await window.latentlab.lab.pause();');
      await session.run('await new Promise((r) => setTimeout(r, 800));');
      const later = await status(session);
      assert.equal(later.state, 'paused');
      assert.equal(later.step, paused.step, 'steps ran while paused');

      // Step advances by exactly one.
      const stepped = await steps(session, 1);
      assert.equal(stepped.step, paused.step + 1);

      // Play: while it trains, the page's own decoder still answers.
      const before = first.heldout.total;
      await session.click('[data-testid=lab-play]');
      await waitFor(session, 'window.latentlab.lab.status()?.state === "running"', 'the lab to run');
      const [pixels] = await decode(session, [[0.5, -0.5]]);
      assert.equal(pixels.length, 784);
      await session.run(`document.querySelector('[data-testid=latent-slider]').value = "1.5";
        document.querySelector('[data-testid=latent-slider]').dispatchEvent(new Event('input', {bubbles: true}));`);
      await waitFor(session, 'JSON.parse(document.getElementById("slider-decode").dataset.z || "null")?.[0]?.[0] === 1.5', 'the slider image while training');
      await waitFor(session, 'window.latentlab.lab.status()?.step >= 60', 'sixty steps', 240000);
      await session.click('[data-testid=lab-play]');
      await waitFor(session, 'window.latentlab.lab.status()?.state === "paused"', 'the lab to pause');
      await waitFor(session, `document.querySelectorAll("[data-testid=lab-scrub]").length && window.latentlab.lab.status().heldout`, 'a snapshot');
      const trained = await steps(session, 1);
      assert.ok(trained.heldout.total < before - 20, `held-out loss ${before} → ${trained.heldout.total}`);
      assert.ok(trained.imagesPerSecond > 0);
      const painted = await session.run(`await window.latentlab.painted();
        const c = document.getElementById('lab-map');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 60 || d[i + 1] > 60) n++; return n;`);
      assert.ok(painted > 200, `the live map painted ${painted} pixels`);
      await session.run('document.getElementById("lab-title").scrollIntoView();');
      saveScreenshot('lab-cpu', await session.screenshot());

      // Reset starts over at step 0.
      const reset = await session.run('return await window.latentlab.lab.reset();');
      assert.equal(reset.step, 0);
    } finally {
      await session.close();
    }
  });

  test('the trained model goes on show in every view; download → upload keeps its pixels', async () => {
    const session = await open('?backend=cpu&lab-dataset=mnist&lab-batch=50&lab-seed=5');
    const historyShown = 'document.getElementById("history-reconstructions").offsetParent !== null';
    try {
      await waitFor(session, `${historyShown} && document.querySelector("[data-testid=history-label]").textContent`, 'the shipped model\'s history');
      await session.run('await window.latentlab.lab.start({dataset: "mnist", batch: 50, seed: 5});');
      await steps(session, 8);
      await session.run('await window.latentlab.lab.use();');
      // The lab's model has no recorded history: the history panel says so and shows none,
      // not the previous model's pictures.
      await waitFor(session, 'document.querySelector("[data-testid=history-none]")?.textContent.includes("no recorded history")', 'the no-history note');
      assert.equal(await session.run(`return ${historyShown};`), false, 'the previous model\'s history is still shown');
      assert.equal(await session.run('return document.querySelector("[data-testid=history-views]").offsetParent;'), null);
      assert.equal(await session.run('return document.querySelector("[data-testid=history-play]").offsetParent;'), null);
      const line = await session.run('return document.querySelector("[data-testid=model-line]").textContent;');
      assert.match(line, /lab-mnist-vae-2d-s5/);
      assert.match(line, /trained on MNIST digits in the browser's training lab \(cpu\), \d+ steps \(held-out −ELBO/);
      assert.equal(await session.run('return document.querySelectorAll(".picker [aria-pressed=true]:not([data-testid=picker-kept])").length;'), 0,
        'the picker presses a shipped model while the lab model is on show');
      assert.match(await session.run('return document.querySelector(".picker [data-testid=picker-kept][aria-pressed=true]")?.dataset.name ?? "";'),
        /^lab-mnist-vae-2d-s5/, 'the picker\'s row of your models does not press the lab\'s model');
      assert.match(await session.run('return document.querySelector("[data-testid=lab-used]").textContent;'), /held-out −ELBO \d+/);
      // decode runs on the lab's model now, and differs from the shipped model's.
      const z = [[0.3, -0.8], [1.2, 0.4]];
      const fromLab = await decode(session, z);
      await session.run('await window.latentlab.use("mnist-vae-2d");');
      await waitFor(session, historyShown, 'the shipped model\'s history again');
      const shipped = await decode(session, z);
      assert.ok(meanAbsDiff(fromLab[0], shipped[0]) > 0.02, 'the lab model decodes like the shipped one');
      // The lab's model is kept in this browser, so the address names it (a reload brings it back).
      await session.run('await window.latentlab.lab.use();');
      assert.match(await session.run('return location.search;'), /model=lab-mnist-vae-2d-s5/);

      // Download → upload (dropped on the lab): the same pixels for the same z.
      const downloads = await session.downloads(2, () => session.click('[data-testid=lab-download]'));
      {
        assert.equal(downloads.length, 2);
        const files = downloads.map(({ name, bytes }) => ({ name, base64: bytes.toString('base64') }));
        const manifest = JSON.parse(downloads.find((d) => d.name.endsWith('.json')).bytes.toString('utf8'));
        assert.ok(downloads.some((d) => d.name.endsWith('.bpk')), `downloads: ${downloads.map((d) => d.name)}`);
        assert.equal(manifest.precision, 'f16');
        assert.match(manifest.trained_in, /training lab/);
        const drop = `
          const transfer = new DataTransfer();
          for (const { name, base64 } of args[0]) {
            const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
            if (args[1] && name.endsWith('.bpk')) bytes[bytes.length - 100] ^= 0xff;
            transfer.items.add(new File([bytes], name));
          }
          document.querySelector('[data-testid=lab-panel]').dispatchEvent(
            new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));`;
        await session.run('await window.latentlab.use("mnist-vae-2d");');
        await session.run(drop, files, false);
        await waitForModel(session, manifest.name);
        assert.match(await session.run('return document.querySelector("[data-testid=lab-files]").textContent;'), /Loaded/);
        const uploaded = await decode(session, z);
        assert.ok(meanAbsDiff(uploaded[0], fromLab[0]) < 1e-6 && meanAbsDiff(uploaded[1], fromLab[1]) < 1e-6,
          'the uploaded model decodes differently');
        // A damaged weight file is refused in words, and the page keeps its model.
        await session.run(drop, files, true);
        await waitFor(session, 'document.querySelector("[data-testid=lab-files]")?.textContent.includes("checksum")', 'the damaged-file message');
        assert.deepEqual(await decode(session, z), uploaded);
      }
    } finally {
      await session.close();
    }
  });

  test('the dense network in an 8-D space, chosen in the form, trains and goes on show', async () => {
    const session = await open();
    try {
      // Chosen as a person would: the form's selects, then Play.
      await session.run(`for (const [id, value] of [["lab-dataset", "mnist"], ["lab-arch", "dense"], ["lab-latent", "8"]]) {
        const select = document.querySelector("[data-testid=" + id + "]");
        select.value = value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }`);
      assert.match(await session.run('return document.querySelector("[data-testid=lab-sizes]").textContent;'), /2-D.*8-D.*16-D/);
      await session.click('[data-testid=lab-play]');
      await waitFor(session, 'window.latentlab.lab.status()?.step >= 1', 'the first step', 120000);
      const first = await status(session);
      await waitFor(session, 'window.latentlab.lab.status()?.step >= 150', '150 steps', 240000);
      await session.click('[data-testid=lab-play]');
      await waitFor(session, 'window.latentlab.lab.status()?.state === "paused"', 'the lab to pause');
      const trained = await steps(session, 1);
      assert.ok(trained.loss.total < first.loss.total - 50, `loss ${first.loss.total} → ${trained.loss.total}`);
      const search = await session.run('return location.search;');
      assert.match(search, /lab-arch=dense/);
      assert.match(search, /lab-latent=8/);

      await session.run('await window.latentlab.lab.use();');
      assert.match(await session.run('return document.querySelector("[data-testid=model-line]").textContent;'), /lab-mnist-dense-vae-8d/);
      assert.equal(await session.run('return document.querySelectorAll("[data-testid=latent-slider]").length;'), 8);
      const [a, b] = await decode(session, [[0, 0, 0, 0, 0, 0, 0, 0], [1.5, -1, 0.5, 0, 0, 1, -0.5, 0]]);
      assert.equal(a.length, 784);
      assert.ok(meanAbsDiff(a, b) > 0.01, 'two 8-D points decode alike');
      const encoded = await session.run('return await window.latentlab.encode([Array.from(args[0])]);', Array.from(a));
      assert.equal(encoded.mu[0].length, 8);
    } finally {
      await session.close();
    }
  });

  test('a seed makes a run repeatable: the same losses step for step, wherever its snapshots fall', async () => {
    const session = await open();
    try {
      await session.run('await window.latentlab.lab.start({dataset: "mnist", classes: [0, 1], arch: "dense", batch: 32, lr: 0.003, seed: 11});');
      const lossAfter = (count) => session.run(`return (await window.latentlab.lab.step(${count})).loss;`);
      // From scratch, one step at a time: a snapshot (held-out evaluation) after each.
      await session.run('await window.latentlab.lab.reset();');
      const single = [];
      for (let i = 0; i < 6; i++) single.push(await lossAfter(1));
      assert.notDeepEqual(single[0], single[5]);
      // The same run, six steps in two calls: snapshots only once a second.
      await session.run('await window.latentlab.lab.reset();');
      assert.deepEqual([await lossAfter(3), await lossAfter(3)], [single[2], single[5]]);

      // Played as a person trains (snapshots by the clock), paused, one step more; then the
      // same number of steps in one call: the same training and held-out losses.
      await session.run('await window.latentlab.lab.reset();');
      await session.click('[data-testid=lab-play]');
      await waitFor(session, 'window.latentlab.lab.status()?.step >= 60', 'sixty steps', 120000);
      await session.click('[data-testid=lab-play]');
      await waitFor(session, 'window.latentlab.lab.status()?.state === "paused"', 'the lab to pause');
      const played = await steps(session, 1);
      await session.run('await window.latentlab.lab.reset();');
      const counted = await session.run(`return await window.latentlab.lab.step(${played.step});`);
      assert.equal(counted.step, played.step);
      assert.deepEqual(counted.loss, played.loss, `step ${played.step}: played and counted runs differ`);
      assert.deepEqual(counted.heldout, played.heldout);
      // A bad count is refused in words.
      const refused = await session.run('try { await window.latentlab.lab.step(2.5); return "resolved"; } catch (e) { return e.message; }');
      assert.match(refused, /whole number of batches/);
    } finally {
      await session.close();
    }
  });

  test('a huge learning rate gives the NaN message and keeps the last good weights', async () => {
    const session = await open();
    try {
      await session.run('await window.latentlab.lab.start({dataset: "mnist", batch: 16, lr: 10, seed: 1});');
      await waitFor(session, 'window.latentlab.lab.status()?.message', 'the NaN message', 120000);
      const stopped = await status(session);
      assert.equal(stopped.state, 'paused');
      assert.match(stopped.message, /learning rate/);
      assert.match(await session.run('return document.querySelector("[data-testid=lab-message]").textContent;'), /lower one/);
      // The kept weights are finite: the model can still be used and decodes numbers.
      await session.run('await window.latentlab.lab.use();');
      const [pixels] = await decode(session, [[0, 0]]);
      assert.ok(pixels.every(Number.isFinite));
    } finally {
      await session.close();
    }
  });

  test('bad settings are refused in words; bad address values are named and clamped', async () => {
    const session = await open('?backend=cpu&lab-beta=40&lab-latent=5');
    try {
      const problems = await session.run('return [...document.querySelectorAll("[data-testid=lab-address-problem]")].map((p) => p.textContent);');
      assert.ok(problems.some((p) => /lab-beta 40/.test(p)), problems.join(' | '));
      assert.ok(problems.some((p) => /lab-latent/.test(p)), problems.join(' | '));
      for (const [settings, word] of [['{beta: -1}', 'beta'], ['{latent: 3}', 'latent'], ['{batch: 1e6}', 'batch'], ['{colour: 1}', 'colour']]) {
        const refused = await session.run(`try { await window.latentlab.lab.start(${settings}); return "resolved"; } catch (e) { return e.message; }`);
        assert.match(refused, new RegExp(word), `${settings}: ${refused}`);
      }
    } finally {
      await session.close();
    }
  });

  test('WebGPU: a lost device in the worker; training goes on on the CPU from the last snapshot', async (t) => {
    const session = await openBrowser({ webgpu: true });
    try {
      await session.page.addInitScript(recordWorkers);
      await session.goto(`${losingSite.url}?backend=webgpu`);
      if (!(await session.run('return !!(navigator.gpu && await navigator.gpu.requestAdapter());'))) {
        t.skip('this headless Chromium offers no WebGPU adapter');
        return;
      }
      await session.run('await window.latentlab.ready;');
      const first = await session.run('return await window.latentlab.lab.start({dataset: "mnist", arch: "dense", classes: [1], batch: 16, seed: 2});');
      assert.equal(first.backend, 'webgpu');
      await waitFor(session, 'window.latentlab.lab.status()?.step >= 2', 'two steps on WebGPU', 120000);
      await session.run('window.pageWorkers.forEach((worker) => worker.postMessage("test:lose-device"));');
      const moved = await waitFor(session, 'window.latentlab.lab.status()?.backend === "cpu" && window.latentlab.lab.status()', 'the worker to move to the CPU', 120000);
      assert.match(moved.message ?? '', /The WebGPU device failed at step \d+ .*training goes on on the CPU backend from step \d+, the last snapshot/);
      const resumed = moved.step;
      const later = await waitFor(session, `window.latentlab.lab.status()?.step >= ${resumed + 20} && window.latentlab.lab.status()`, 'twenty more steps on the CPU', 120000);
      assert.equal(later.state, 'running');
      assert.ok(Number.isFinite(later.loss.total), `loss ${later.loss.total}`);
      assert.match(await session.run('return document.querySelector("[data-testid=lab-message]")?.textContent ?? "";'), /WebGPU device failed/);
    } finally {
      await session.close();
    }
  });

  test('?backend=auto: the lab times a training step on WebGPU and on the CPU and trains on the faster', async () => {
    const session = await open('?backend=auto', true);
    try {
      const first = await session.run('return await window.latentlab.lab.start({dataset: "mnist", classes: [1], arch: "dense", latent: 2, batch: 16, lr: 0.003, seed: 2});');
      const timed = (first.backendReason ?? '').match(/a training step of 16 images took (\d+) ms on WebGPU and (\d+) ms on the CPU/);
      assert.ok(timed, `the worker names both timings: ${first.backendReason}`);
      const [webgpu, cpu] = [Number(timed[1]), Number(timed[2])];
      assert.equal(first.backend, webgpu <= cpu ? 'webgpu' : 'cpu', `WebGPU ${webgpu} ms, CPU ${cpu} ms`);
      const shown = await session.run('return document.querySelector("[data-testid=lab-backend]")?.textContent ?? "";');
      assert.match(shown, new RegExp(`The lab trains on ${first.backend === 'webgpu' ? 'WebGPU' : 'the CPU'}: timed here`));
      await session.run('await window.latentlab.lab.pause();');
      const trained = await steps(session, 3);
      assert.equal(trained.backend, first.backend);
      assert.ok(trained.loss.total < first.loss.total, `loss ${first.loss.total} → ${trained.loss.total}`);
    } finally {
      await session.close();
    }
  });

  test('WebGPU (software adapter): a few steps lower the loss', async () => {
    const session = await open('?backend=webgpu', true);
    try {
      const first = await session.run('return await window.latentlab.lab.start({dataset: "mnist", classes: [1], latent: 8, batch: 16, lr: 0.003, seed: 2});');
      assert.equal(first.backend, 'webgpu');
      await session.run('await window.latentlab.lab.pause();');
      const start = first.loss.total;
      const trained = await steps(session, 3);
      assert.ok(trained.loss.total < start, `loss ${start} → ${trained.loss.total}`);
    } finally {
      await session.close();
    }
  });
});
