// A static file server for the built site, on loopback, under a sub-path (the site must
// work from any sub-path), with a few extra routes that serve broken model files.
import http from 'node:http';
import { after, before } from 'node:test';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { failOnPageErrors } from './browser.mjs';
import { buildSite } from './site.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.json': 'application/json',
  '.bpk': 'application/octet-stream',
  '.png': 'image/png',
};

// The headers that make the page cross-origin isolated, as scripts/serve.sh sends them
// (the lab's threads share memory): the site's files are all its own.
export const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/**
 * Serves `root` at http://127.0.0.1:PORT{prefix}. `overrides` maps a path below the
 * prefix to a Buffer (served as is), null (answered 404) or a function that answers
 * `(request, response)` itself. The site's files come with the cross-origin isolation
 * headers unless `isolated` is false.
 */
export async function serveSite(root, prefix, overrides = {}, { isolated = true } = {}) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (!url.pathname.startsWith(prefix)) {
      res.writeHead(404).end('outside the site');
      return;
    }
    let path = url.pathname.slice(prefix.length) || 'index.html';
    if (path.endsWith('/')) path += 'index.html';
    if (path in overrides) {
      const body = overrides[path];
      if (typeof body === 'function') body(req, res);
      else if (body === null) res.writeHead(404).end('not found');
      else res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', ...(isolated ? ISOLATION : {}) }).end(body);
      return;
    }
    const file = normalize(join(root, path));
    if (!file.startsWith(normalize(root))) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': body.length,
        'cache-control': 'no-store',
        ...(isolated ? ISOLATION : {}),
      }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  // Closing also drops the connections kept alive: the site is then unreachable at once.
  return { url: `http://127.0.0.1:${port}${prefix}`, close: () => { server.close(); server.closeAllConnections(); } };
}

/**
 * For a test file: builds the site, serves it at `prefix` before the file's tests and
 * stops after them, and fails each test on an error in its pages (see browser.mjs).
 * `overrides(root)` may give extra routes made from the built site; `options` go to
 * serveSite. Returns an object
 * whose `url` (and the built site's folder, `root`) are set once the site is up.
 */
export function useSite(prefix, overrides = () => ({}), options = {}) {
  const site = { url: null, close: () => {} };
  before(async () => {
    const root = buildSite();
    Object.assign(site, await serveSite(root, prefix, overrides(root), options), { root });
  });
  after(() => site.close());
  failOnPageErrors();
  return site;
}
