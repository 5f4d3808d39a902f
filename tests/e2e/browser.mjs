// Headless Chromium for the browser tests and the benchmark, driven by playwright-core
// (pinned in tools/package.json): it launches Debian's own chromium and downloads no browser.
// Headless Firefox (Debian's firefox-esr) for the second-engine tests, driven by
// puppeteer-core over WebDriver BiDi: Playwright drives only its own patched Firefox.
//
// Every page records what went wrong in it that no test asked for: uncaught errors, unhandled
// promise rejections, a wasm panic printed to the console, a crashed renderer. `checkPages`
// (run after each test by `failOnPageErrors`) fails the test that caused them.
import { afterEach } from 'node:test';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './site.mjs';

export const CHROMIUM = process.env.CHROMIUM_BINARY ?? '/usr/bin/chromium';
export const FIREFOX = process.env.FIREFOX_BINARY ?? '/usr/bin/firefox-esr';

const tool = (name) => {
  const path = join(REPO, 'tools', 'node_modules', name);
  if (!existsSync(path)) throw new Error(`${name} is missing: run scripts/setup.sh --test (it installs tools/package.json)`);
  return createRequire(import.meta.url)(path);
};
const { chromium } = tool('playwright-core');

/** What the console says when the wasm panics or traps. */
const PANIC = /panicked at|RuntimeError: unreachable|internal error/i;

/** Pages opened since the last `checkPages`. */
let opened = [];

/**
 * Opens a fresh headless Chromium with one page. `webgpu` exposes its WebGPU adapter
 * (SwiftShader here); `deviceScaleFactor` emulates a high-DPI screen; `bypassCSP` lets the
 * benchmark add its TensorFlow.js peer to the page despite the page's security policy;
 * `phone` opens a 390×844 touch screen at 3× density; `serviceWorkers: 'block'` keeps the site's
 * service worker out.
 */
export async function openBrowser({ webgpu = false, extraArgs = [], deviceScaleFactor = 1, bypassCSP = false, phone = false, serviceWorkers = 'allow' } = {}) {
  const args = ['--no-sandbox', '--disable-quic', '--disable-dev-shm-usage', ...extraArgs];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args, timeout: 60000 });
  const screen = phone
    ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true }
    : { viewport: { width: 1280, height: 800 }, deviceScaleFactor };
  const context = await browser.newContext({ ...screen, acceptDownloads: true, bypassCSP, serviceWorkers });
  const page = await context.newPage();
  const session = new Session(browser, page);
  opened.push(session);
  return session;
}

/**
 * Opens a fresh headless Firefox with one 1280×800 page, as a Session with the same methods
 * (but the DevTools-protocol ones: touch input, downloads). Its WebGPU is switched on where
 * the build has it; without an adapter the page takes the CPU path, as it says.
 */
export async function openFirefox() {
  const puppeteer = tool('puppeteer-core');
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    defaultViewport: { width: 1280, height: 800 },
    protocolTimeout: 240000,
    extraPrefsFirefox: { 'dom.webgpu.enabled': true },
  });
  const page = await browser.newPage();
  const session = new FirefoxSession(browser, page);
  opened.push(session);
  return session;
}

/** Fails the running test if any page it opened saw an error it did not expect. */
export function failOnPageErrors() {
  afterEach(checkPages);
}

export async function checkPages() {
  const sessions = opened;
  opened = [];
  const problems = sessions.flatMap((session) => session.unexpectedErrors());
  await Promise.all(sessions.map((session) => session.close()));
  if (problems.length) throw new Error(`the page reported errors:\n  ${problems.join('\n  ')}`);
}

export class Session {
  constructor(browser, page) {
    this.browser = browser;
    this.page = page;
    this.errors = [];
    this.expected = [];
    this.closed = false;
    page.on('pageerror', (error) => this.errors.push(`uncaught: ${error.message}`));
    page.on('crash', () => this.errors.push('the page crashed'));
    page.on('console', (message) => {
      if (message.type() === 'error' && PANIC.test(message.text())) this.errors.push(`console: ${message.text()}`);
    });
  }

  /** Declares that an error matching `pattern` is part of the test; it is not reported. */
  expectError(pattern) {
    this.expected.push(pattern);
  }

  /** The errors seen so far that no `expectError` covers. */
  unexpectedErrors() {
    return this.errors.filter((error) => !this.expected.some((pattern) => pattern.test(error)));
  }

  goto(url) {
    return this.page.goto(url, { waitUntil: 'load', timeout: 120000 });
  }

  /**
   * Runs `body` (an async function body) in the page once `window.latentlab` exists (the
   * wasm module starts after the page's load event); `args` reach it as `args`.
   */
  async run(body, ...args) {
    const script = `(async (args) => {
      const deadline = Date.now() + 60000;
      while (!window.latentlab) {
        if (Date.now() > deadline) throw new Error('window.latentlab never appeared: the wasm did not start');
        await new Promise((r) => setTimeout(r, 25));
      }
      ${body}
    })(${JSON.stringify(args)})`;
    try {
      return await this.page.evaluate(script);
    } catch (error) {
      throw new Error(`in the page: ${error.message.replace(/^page\.evaluate: (Error: )?/, '')}`);
    }
  }

  click(css) {
    return this.page.click(css, { timeout: 30000 });
  }

  /** Focuses the element and presses `key` (a Playwright key name, e.g. 'ArrowRight') `times` times. */
  async press(css, key, times = 1) {
    await this.page.focus(css);
    for (let i = 0; i < times; i++) await this.page.keyboard.press(key);
  }

  /** The element's centre in the viewport, after scrolling it into view. */
  async centreOf(css) {
    const element = this.page.locator(css).first();
    await element.scrollIntoViewIfNeeded();
    const box = await element.boundingBox();
    if (!box) throw new Error(`${css} is not shown`);
    return [box.x + box.width / 2, box.y + box.height / 2];
  }

  /** Real pointer input: moves to (x, y) CSS pixels from the element's centre, optionally clicks. */
  async pointerAt(css, x, y, { click = false } = {}) {
    const [cx, cy] = await this.centreOf(css);
    await this.page.mouse.move(cx + x, cy + y);
    if (click) {
      await this.page.mouse.down();
      await this.page.mouse.up();
    }
  }

  /** One pressed-button stroke through `points` ([x, y] from the element's centre). */
  async stroke(css, points) {
    const [cx, cy] = await this.centreOf(css);
    const [first, ...rest] = points;
    await this.page.mouse.move(cx + first[0], cy + first[1]);
    await this.page.mouse.down();
    for (const [x, y] of rest) await this.page.mouse.move(cx + x, cy + y);
    await this.page.mouse.up();
  }

  /** One finger's stroke through `points` ([x, y] from the element's centre): real touch
   *  input through the DevTools protocol, which the page sees as touch pointer events. */
  async touchStroke(css, points) {
    const [cx, cy] = await this.centreOf(css);
    const at = ([x, y]) => [{ x: cx + x, y: cy + y, id: 1, radiusX: 4, radiusY: 4, force: 1 }];
    const [first, ...rest] = points;
    await this.cdp('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: at(first) });
    for (const point of rest) await this.cdp('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: at(point) });
    await this.cdp('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    // A finger is off the glass a moment before its next touch; a tap sooner than
    // Chromium's double-tap window is taken with the stroke as a double tap, and clicks
    // nothing.
    await new Promise((r) => setTimeout(r, 400));
  }

  /** A finger's tap on the element's centre (plus `x`, `y`), scrolled to the middle of the
   *  screen first (near an edge, a late layout change could move it from under the finger). */
  async tap(css, x = 0, y = 0) {
    await this.page.locator(css).first().evaluate((element) => element.scrollIntoView({ block: 'center' }));
    await this.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const box = await this.page.locator(css).first().boundingBox();
    if (!box) throw new Error(`${css} is not shown`);
    await this.page.touchscreen.tap(box.x + box.width / 2 + x, box.y + box.height / 2 + y);
  }

  /** Runs `action` and collects the `count` downloads it starts: [{ name, bytes }]. */
  async downloads(count, action, timeoutMs = 30000) {
    const seen = [];
    let listener;
    const all = new Promise((resolve) => {
      listener = (download) => {
        seen.push(download);
        if (seen.length === count) resolve();
      };
      this.page.on('download', listener);
    });
    try {
      await action();
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${seen.length} of ${count} downloads after ${timeoutMs} ms`)), timeoutMs);
      });
      await Promise.race([all, timeout]).finally(() => clearTimeout(timer));
    } finally {
      this.page.off('download', listener);
    }
    const { readFile } = await import('node:fs/promises');
    return Promise.all(seen.map(async (download) => ({ name: download.suggestedFilename(), bytes: await readFile(await download.path()) })));
  }

  /** Sends a Chrome DevTools Protocol command to the page. */
  async cdp(method, params = {}) {
    this.cdpSession ??= await this.page.context().newCDPSession(this.page);
    return this.cdpSession.send(method, params);
  }

  setViewport(width, height) {
    return this.page.setViewportSize({ width, height });
  }

  screenshot(options = {}) {
    return this.page.screenshot(options);
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.browser.close();
  }

  /** A second tab of the same browser profile (its storage shared with this one's); it
   *  closes with this session. */
  async openTab() {
    const tab = new Session(this.browser, await this.page.context().newPage());
    tab.close = () => tab.page.close().catch(() => {});
    opened.push(tab);
    return tab;
  }
}

/** A Session on puppeteer-core's page, whose API differs from Playwright's in these. */
class FirefoxSession extends Session {
  async click(css) {
    const element = await this.page.waitForSelector(css, { visible: true, timeout: 30000 });
    await element.click();
  }

  async centreOf(css) {
    const element = await this.page.waitForSelector(css, { timeout: 30000 });
    await element.scrollIntoView();
    const box = await element.boundingBox();
    if (!box) throw new Error(`${css} is not shown`);
    return [box.x + box.width / 2, box.y + box.height / 2];
  }

  async screenshot(options = {}) {
    return Buffer.from(await this.page.screenshot(options));
  }

  setViewport(width, height) {
    return this.page.setViewport({ width, height });
  }
}
