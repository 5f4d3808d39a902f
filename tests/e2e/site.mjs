// Builds the site with trunk (quick profile) unless LATENTLAB_SITE names a built one.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOTS = join(REPO, 'target', 'e2e-screenshots');

let built = null;

export function buildSite() {
  if (built) return built;
  if (process.env.LATENTLAB_SITE) {
    built = resolve(process.env.LATENTLAB_SITE);
  } else {
    execFileSync('trunk', ['build', '--cargo-profile', 'web-fast'], { cwd: REPO, stdio: 'inherit' });
    built = join(REPO, 'pkg');
  }
  if (!existsSync(join(built, 'index.html'))) throw new Error(`no built site in ${built}`);
  return built;
}

export function saveScreenshot(name, png) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  writeFileSync(path, png);
  return path;
}

/** The file name of a worker's loader in the built site at `root` (`worker` is
 *  "engine-worker" or "lab-worker"): scripts/stamp-build.mjs names it by its content. */
export function workerLoader(root, worker) {
  const page = readFileSync(join(root, 'index.html'), 'utf8');
  const name = page.match(new RegExp(`<meta name="latentlab-${worker}" content="([^"]+)"`))?.[1];
  if (!name) throw new Error(`${root}/index.html names no ${worker} loader`);
  return name;
}

/** The loaders of a worker ("engine-worker" or "lab-worker") in the built site: the usual one, and the multi-threaded one where the site has it. */
export function workerLoaders(root, worker) {
  const page = readFileSync(join(root, 'index.html'), 'utf8');
  return [worker, `${worker}-threads`].filter((name) => page.includes(`<meta name="latentlab-${name}"`)).map((name) => workerLoader(root, name));
}

/** The loaders of the lab's workers (see workerLoaders). */
export const labWorkerLoaders = (root) => workerLoaders(root, 'lab-worker');

/**
 * A worker's loader (`NAME_loader.js` in the built site at `root`) that keeps every
 * GPUDevice the worker asks for and destroys them when the page posts "test:lose-device"
 * to it (the worker's own code never sees that message): a lost WebGPU device, on demand.
 */
export function deviceLosingLoader(root, loader) {
  return Buffer.from(`
    const requestDevice = self.GPUAdapter?.prototype.requestDevice;
    const devices = [];
    if (requestDevice) {
      GPUAdapter.prototype.requestDevice = async function (...args) {
        const device = await requestDevice.apply(this, args);
        devices.push(device);
        return device;
      };
    }
    self.addEventListener('message', (event) => {
      if (event.data !== 'test:lose-device') return;
      event.stopImmediatePropagation();
      devices.forEach((device) => device.destroy());
    });
    ${readFileSync(join(root, loader), 'utf8')}`);
}

/** A page init script that keeps every Worker the page starts in `window.pageWorkers`,
 *  each with the address it was started from as `scriptURL`. */
export function recordWorkers() {
  const Worker = window.Worker;
  window.Worker = class extends Worker {
    constructor(...args) {
      super(...args);
      this.scriptURL = String(args[0]);
      (window.pageWorkers ??= []).push(this);
    }
  };
}
