// Builds the site with trunk (quick profile) unless LATENTLAB_SITE names a built one.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
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
