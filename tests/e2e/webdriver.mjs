// A minimal W3C WebDriver client over fetch, driving Debian's chromium through chromedriver.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

export const CHROMIUM = process.env.CHROMIUM_BINARY ?? '/usr/bin/chromium';
export const CHROMEDRIVER = process.env.CHROMEDRIVER ?? '/usr/bin/chromedriver';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForDriver(base, deadline) {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${base}/status`);
      if (res.ok && (await res.json()).value?.ready) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`chromedriver did not start at ${base}`);
}

export class Driver {
  /** `extraArgs` are added to every Chromium this driver opens. */
  static async start({ extraArgs = [] } = {}) {
    const port = await freePort();
    const process_ = spawn(CHROMEDRIVER, [`--port=${port}`, '--allowed-ips=127.0.0.1'], { stdio: 'ignore' });
    const driver = new Driver(`http://127.0.0.1:${port}`, process_);
    driver.extraArgs = extraArgs;
    await waitForDriver(driver.base, Date.now() + 20000);
    return driver;
  }

  constructor(base, process_) {
    this.base = base;
    this.process = process_;
  }

  async command(method, path, body) {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok || json.value?.error) {
      throw new Error(`WebDriver ${method} ${path}: ${json.value?.error}: ${json.value?.message}`);
    }
    return json.value;
  }

  /** Opens a fresh headless Chromium; `webgpu` adds the flag that exposes its WebGPU adapter. */
  async openBrowser({ webgpu }) {
    const profile = mkdtempSync(join(tmpdir(), 'latentlab-chromium-'));
    const args = [
      '--headless', '--no-sandbox', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage', '--window-size=1280,800', `--user-data-dir=${profile}`,
    ];
    if (webgpu) args.push('--enable-unsafe-webgpu');
    args.push(...(this.extraArgs ?? []));
    const value = await this.command('POST', '/session', {
      capabilities: {
        alwaysMatch: {
          browserName: 'chrome',
          'goog:chromeOptions': { binary: CHROMIUM, args },
        },
      },
    });
    const session = new Session(this, value.sessionId, profile);
    await session.command('POST', '/timeouts', { script: 240000, pageLoad: 120000 });
    return session;
  }

  stop() {
    this.process.kill();
  }
}

export class Session {
  constructor(driver, id, profile) {
    this.driver = driver;
    this.id = id;
    this.profile = profile;
  }

  command(method, path, body) {
    return this.driver.command(method, `/session/${this.id}${path}`, body);
  }

  goto(url) {
    return this.command('POST', '/url', { url });
  }

  /**
   * Runs `body` (an async function body) in the page once `window.latentlab` exists (the
   * wasm module starts after the page's load event); `args` reach it as `args`.
   */
  run(body, ...args) {
    const script = `const done = arguments[arguments.length - 1];
      const args = Array.prototype.slice.call(arguments, 0, -1);
      (async () => {
        const deadline = Date.now() + 60000;
        while (!window.latentlab) {
          if (Date.now() > deadline) throw new Error('window.latentlab never appeared: the wasm did not start');
          await new Promise((r) => setTimeout(r, 25));
        }
        ${body}
      })().then(
        (value) => done({ ok: true, value }),
        (error) => done({ ok: false, error: String(error && error.message || error) }));`;
    return this.command('POST', '/execute/async', { script, args }).then((result) => {
      if (!result.ok) throw new Error(`in the page: ${result.error}`);
      return result.value;
    });
  }

  /** The WebDriver reference of the first element matching `css`. */
  async element(css) {
    const found = await this.command('POST', '/element', { using: 'css selector', value: css });
    return Object.values(found)[0];
  }

  async click(css) {
    return this.command('POST', `/element/${await this.element(css)}/click`, {});
  }

  /** Types `text` into the element (WebDriver key codes: '\uE014' is the right arrow). */
  async sendKeys(css, text) {
    return this.command('POST', `/element/${await this.element(css)}/value`, { text });
  }

  /** Real pointer input: moves to (x, y) relative to the element's centre, optionally clicks. */
  async pointerAt(css, x, y, { click = false } = {}) {
    const origin = { 'element-6066-11e4-a52e-4f735466cecf': await this.element(css) };
    const actions = [{ type: 'pointerMove', duration: 0, origin, x: Math.round(x), y: Math.round(y) }];
    if (click) actions.push({ type: 'pointerDown', button: 0 }, { type: 'pointerUp', button: 0 });
    await this.command('POST', '/actions', {
      actions: [{ type: 'pointer', id: 'mouse', parameters: { pointerType: 'mouse' }, actions }],
    });
    await this.command('DELETE', '/actions');
  }

  /** Sends a Chrome DevTools Protocol command through chromedriver. */
  cdp(cmd, params = {}) {
    return this.command('POST', '/goog/cdp/execute', { cmd, params });
  }

  async setWindowSize(width, height) {
    return this.command('POST', '/window/rect', { width, height });
  }

  async screenshot() {
    return Buffer.from(await this.command('GET', '/screenshot'), 'base64');
  }

  async close() {
    try { await this.command('DELETE', ''); } finally {
      rmSync(this.profile, { recursive: true, force: true });
    }
  }
}
