// latentlab's service worker: the page, and every model and dataset it has used, work with
// the network off after a first visit.
//
// - Files whose names carry a content hash (the page's and the workers' scripts and wasm,
//   the style sheet) never change: they are served from this build's cache, or fetched
//   once and kept there. The page's own start-up files are kept when this worker installs.
// - Everything else (the page itself, the models, the datasets) is fetched from the
//   network first, so an update is seen at once, and the copy kept for when the network
//   fails. A model kept stale here is still checked against its manifest's checksum.
//
// - Every response it gives carries the headers that make the page cross-origin isolated
//   (COOP same-origin, COEP require-corp), as the server's would: a static host that
//   cannot send them still gets the lab's multi-threaded engine, whose threads share
//   memory, from the second visit on (the first page load comes before this worker).
//
// `scripts/stamp-build.mjs` fills in BUILD and SHELL when the site is built; a new build is
// a new worker, which takes over from the old one at once and drops the old build's cache.
const BUILD = 'unbuilt';
const SHELL = [];
const BUILD_CACHE = `latentlab-build-${BUILD}`;
const FILES_CACHE = 'latentlab-files';
const HASHED = /-[0-9a-f]{12,20}(_bg\.wasm|_loader\.js|\.js|\.css|\.wasm)$/;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(BUILD_CACHE);
    await cache.addAll(SHELL.map((file) => new Request(file, { cache: 'no-cache' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('latentlab-build-') && name !== BUILD_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** Keeps `response` (a whole, good one) for `request` in `cacheName`. */
async function keep(cacheName, request, response) {
  if (!response.ok || response.status !== 200) return;
  const cache = await caches.open(cacheName);
  await cache.put(request, response);
}

// Kept as it streams to the page (which shows the download's progress), not before.
async function hashedFile(event) {
  const kept = await caches.match(event.request);
  if (kept) return kept;
  const response = await fetch(event.request);
  event.waitUntil(keep(BUILD_CACHE, event.request, response.clone()).catch(() => {}));
  return response;
}

async function networkFirst(event, isPage) {
  const request = event.request;
  try {
    const response = await fetch(request);
    // The page is kept under one key, whatever its address says after `?`.
    const key = isPage ? new Request('index.html') : request;
    event.waitUntil(keep(isPage ? BUILD_CACHE : FILES_CACHE, key, response.clone()).catch(() => {}));
    return response;
  } catch (error) {
    const kept = isPage
      ? (await caches.match('index.html', { cacheName: BUILD_CACHE })) ?? (await caches.match('index.html'))
      : await caches.match(request, { ignoreSearch: true });
    if (kept) return kept;
    throw error;
  }
}

/** `response` with the cross-origin isolation headers (the site's own files only). */
function isolated(response) {
  if (response.type === 'opaque' || response.status === 0) return response;
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  // The page asks the network itself, past every cache, which build the site serves now.
  if (request.cache === 'no-store') return;
  if (!url.href.startsWith(self.registration.scope)) return;
  if (request.mode === 'navigate') event.respondWith(networkFirst(event, true).then(isolated));
  else if (HASHED.test(url.pathname)) event.respondWith(hashedFile(event).then(isolated));
  else event.respondWith(networkFirst(event, false).then(isolated));
});

// The page names the files it fetched before this worker controlled it (the first model
// among them), so that they too work offline.
self.addEventListener('message', (event) => {
  if (event.data?.type !== 'keep') return;
  event.waitUntil((async () => {
    for (const href of event.data.files ?? []) {
      const url = new URL(href, self.registration.scope);
      if (url.origin !== self.location.origin || !url.href.startsWith(self.registration.scope)) continue;
      const cacheName = HASHED.test(url.pathname) ? BUILD_CACHE : FILES_CACHE;
      if (await caches.match(url.href)) continue;
      try {
        await keep(cacheName, new Request(url.href), await fetch(url.href));
      } catch {
        // Offline again already: it is kept the next time it is fetched.
      }
    }
    event.source?.postMessage({ type: 'kept', build: BUILD });
  })());
});
