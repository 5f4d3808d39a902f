// Trunk's post-build hook (Trunk.toml): gives the built page a Content-Security-Policy
// <meta> that lets only the site's own files run as script (and be compiled as wasm),
// plus trunk's one inline start-up script, named by its hash. An injected string can
// then never run as script: inline handlers, foreign scripts and eval are all refused.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const page = join(process.env.TRUNK_STAGING_DIR ?? process.argv[2], 'index.html');
let html = readFileSync(page, 'utf8');
const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((match) => match[1]);
const hashes = inline.map((body) => `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`);
const policy = [
  "default-src 'none'",
  `script-src 'self' 'wasm-unsafe-eval' ${hashes.join(' ')}`,
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  // leptos sets style attributes (the legend's colours, hidden panels).
  "style-src 'self' 'unsafe-inline'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');
if (html.includes('Content-Security-Policy')) throw new Error(`${page} already has a policy`);
const charset = '<meta charset="utf-8" />';
if (!html.includes(charset)) throw new Error(`${page}: no ${charset} to put the policy after`);
html = html.replace(charset, `${charset}\n  <meta http-equiv="Content-Security-Policy" content="${policy}" />`);
writeFileSync(page, html);
console.log(`csp.mjs: policy added to ${page} (${hashes.length} inline script${hashes.length === 1 ? '' : 's'} allowed by hash)`);
