// Lighthouse (npm, pinned in bench/package.json) on the site served on loopback: the
// mobile and desktop presets' performance, LCP, TBT, CLS, accessibility and best
// practices. Writes target/bench/lighthouse.json and lighthouse.md (and each preset's full
// report, lighthouse-mobile.json and lighthouse-desktop.json). Run by scripts/bench.sh
// on the release site; LATENTLAB_SITE names another build.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import desktopConfig from 'lighthouse/core/config/desktop-config.js';
import { serveSite } from '../tests/e2e/server.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SITE = resolve(process.env.LATENTLAB_SITE ?? join(REPO, 'pkg'));
const OUT = join(REPO, 'target', 'bench');
const CHROME = process.env.CHROME_PATH ?? '/usr/bin/chromium';
/** The goals of issue 24, beside each figure. */
const GOALS = { mobile: { performance: 90, lcp: 2500 }, desktop: { performance: 95 }, cls: 0.1 };

mkdirSync(OUT, { recursive: true });
const site = await serveSite(SITE, '/latentlab/');
const chrome = await chromeLauncher.launch({
  chromePath: CHROME,
  chromeFlags: ['--headless=new', '--no-sandbox', '--disable-dev-shm-usage'],
});
const results = {};
try {
  for (const [preset, config] of [['mobile', undefined], ['desktop', desktopConfig]]) {
    process.stderr.write(`lighthouse: ${preset}…\n`);
    const { lhr } = await lighthouse(
      site.url,
      { port: chrome.port, output: 'json', logLevel: 'error', onlyCategories: ['performance', 'accessibility', 'best-practices'] },
      config,
    );
    writeFileSync(join(OUT, `lighthouse-${preset}.json`), JSON.stringify(lhr));
    const score = (category) => Math.round(100 * (lhr.categories[category].score ?? 0));
    const snippets = (id) => (lhr.audits[id]?.details?.items ?? []).flatMap((item) => item.items ?? [item]).map((item) => item.node?.snippet).filter(Boolean);
    const audit = (id) => lhr.audits[id].numericValue;
    results[preset] = {
      performance: score('performance'),
      lcp_ms: Math.round(audit('largest-contentful-paint')),
      tbt_ms: Math.round(audit('total-blocking-time')),
      cls: Number(audit('cumulative-layout-shift').toFixed(3)),
      fcp_ms: Math.round(audit('first-contentful-paint')),
      accessibility: score('accessibility'),
      best_practices: score('best-practices'),
      lcp_element: snippets('largest-contentful-paint-element')[0] ?? null,
      layout_shifts: snippets('layout-shifts').slice(0, 5),
      failed_accessibility_audits: Object.values(lhr.audits)
        .filter((a) => lhr.categories.accessibility.auditRefs.some((r) => r.id === a.id) && a.score === 0)
        .map((a) => a.id),
    };
  }
} finally {
  await chrome.kill();
  site.close();
}

const row = (preset, r) =>
  `| ${preset} | ${r.performance} | ${r.fcp_ms} | ${r.lcp_ms} | ${r.tbt_ms} | ${r.cls} | ${r.accessibility} | ${r.best_practices} |`;
const table = [
  `Lighthouse ${lighthouse.version ?? '12.2.3'} on ${SITE} (loopback; simulated throttling of each preset). Goals: mobile performance ≥ ${GOALS.mobile.performance} with LCP ≤ ${GOALS.mobile.lcp} ms, desktop ≥ ${GOALS.desktop.performance}, CLS ≤ ${GOALS.cls}.`,
  '',
  '| preset | performance | FCP ms | LCP ms | TBT ms | CLS | accessibility | best practices |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  row('mobile', results.mobile),
  row('desktop', results.desktop),
].join('\n');
writeFileSync(join(OUT, 'lighthouse.json'), JSON.stringify({ site: SITE, date: new Date().toISOString(), results }, null, 2));
writeFileSync(join(OUT, 'lighthouse.md'), `${table}\n`);
console.log(table);
for (const [preset, r] of Object.entries(results)) {
  if (r.lcp_element) console.log(`${preset} LCP element: ${r.lcp_element}`);
  if (r.layout_shifts.length) console.log(`${preset} elements that shifted most: ${r.layout_shifts.join(' ')}`);
  if (r.failed_accessibility_audits.length) console.log(`${preset} accessibility audits failed: ${r.failed_accessibility_audits.join(', ')}`);
}
