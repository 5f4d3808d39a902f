// Trunk's post-build hook (Trunk.toml), run before csp.mjs: gives every file of the build
// a name that changes with its content, so that a page never meets a worker of another
// build, and stamps the build into the page and its service worker.
//
// - Trunk hashes the page's script, wasm and style sheet, but not the workers': each
//   worker's script, wasm and loader get `-HASH` (of their content) in their names here,
//   and the page names the new files (the engine's loader in its start-up script, the
//   lab's in a <meta>).
// - The build's id (a hash of the page, which names every hashed file) goes in a <meta>
//   the page reads to tell whether the site it came from has since been updated.
// - sw.js gets the build's id and its start-up files (see www/sw.js).
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const site = process.env.TRUNK_STAGING_DIR ?? process.argv[2];
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const pagePath = join(site, 'index.html');
const hash = (...buffers) => {
  const digest = createHash('sha256');
  buffers.forEach((buffer) => digest.update(buffer));
  return digest.digest('hex').slice(0, 16);
};

let page = readFileSync(pagePath, 'utf8');
const loaders = {};
for (const worker of ['engine-worker', 'lab-worker']) {
  const script = join(site, `${worker}.js`);
  const wasm = join(site, `${worker}_bg.wasm`);
  const stamped = `${worker}-${hash(readFileSync(script), readFileSync(wasm))}`;
  renameSync(script, join(site, `${stamped}.js`));
  renameSync(wasm, join(site, `${stamped}_bg.wasm`));
  const loader = join(site, `${worker}_loader.js`);
  // wasm-bindgen warns on the console at each start when its init takes the wasm's path
  // as trunk's shim passes it (alone): it is passed as wasm-bindgen asks, in an object.
  const shim = readFileSync(loader, 'utf8')
    .replace(`./${worker}.js`, `./${stamped}.js`)
    .replace(`wasm_bindgen("./${worker}_bg.wasm")`, `wasm_bindgen({ module_or_path: "./${stamped}_bg.wasm" })`);
  if (!shim.includes(`./${stamped}.js`) || !shim.includes(`"./${stamped}_bg.wasm"`)) throw new Error(`${loader}: not the loader trunk writes`);
  unlinkSync(loader);
  loaders[worker] = `${stamped}_loader.js`;
  writeFileSync(join(site, loaders[worker]), shim);
}
// The multi-threaded CPU workers, when scripts/build-threads.sh has built them (trunk's
// `build` hook): ES modules (wasm-bindgen-rayon's helper, in snippets/, starts their
// threads as module workers that import them), so their loaders import them.
const threads = join(REPO, 'target', 'threads', 'site');
for (const worker of ['lab-worker-threads', 'engine-worker-threads']) {
  if (!existsSync(join(threads, `${worker}.js`))) continue;
  const script = readFileSync(join(threads, `${worker}.js`));
  const wasm = readFileSync(join(threads, `${worker}_bg.wasm`));
  const stamped = `${worker}-${hash(script, wasm)}`;
  writeFileSync(join(site, `${stamped}.js`), script);
  writeFileSync(join(site, `${stamped}_bg.wasm`), wasm);
  cpSync(join(threads, 'snippets'), join(site, 'snippets'), { recursive: true });
  loaders[worker] = `${stamped}_loader.js`;
  writeFileSync(join(site, loaders[worker]),
    `import init from './${stamped}.js';\nawait init({ module_or_path: new URL('./${stamped}_bg.wasm', import.meta.url) });\n`);
}
if (!page.includes("'engine-worker_loader.js'")) throw new Error(`${pagePath} does not start the engine's worker`);
page = page.replaceAll("'engine-worker_loader.js'", `'${loaders['engine-worker']}'`);

const build = hash(page);
const charset = '<meta charset="utf-8" />';
if (!page.includes(charset)) throw new Error(`${pagePath}: no ${charset} to put the stamp after`);
page = page.replace(charset, [
  charset,
  `<meta name="latentlab-build" content="${build}" />`,
  `<meta name="latentlab-engine-worker" content="${loaders['engine-worker']}" />`,
  `<meta name="latentlab-lab-worker" content="${loaders['lab-worker']}" />`,
  ...['lab-worker-threads', 'engine-worker-threads'].filter((worker) => loaders[worker])
    .map((worker) => `<meta name="latentlab-${worker}" content="${loaders[worker]}" />`),
].join('\n  '));
writeFileSync(pagePath, page);

// What the page needs to start, kept by the service worker as it installs: the page, its
// hashed files and the engine's (the lab's worker is kept once the lab has opened).
const files = readdirSync(site);
const shell = [
  'index.html',
  'first-paint.png',
  'favicon.svg',
  ...files.filter((name) => /^latentlab-[0-9a-f]+(_bg\.wasm|\.js)$/.test(name) || /^style-[0-9a-f]+\.css$/.test(name)),
  // The multi-threaded engine's own files are kept once the page has used it (see
  // index.html); its threads' helper, a small script, is kept here.
  ...files.filter((name) => name.startsWith('engine-worker-') && !name.startsWith('engine-worker-threads-')),
  ...(existsSync(join(site, 'snippets'))
    ? readdirSync(join(site, 'snippets'), { recursive: true }).filter((name) => name.endsWith('.js')).map((name) => `snippets/${name}`)
    : []),
].sort();
const swPath = join(site, 'sw.js');
const sw = readFileSync(swPath, 'utf8');
const stampedSw = sw
  .replace("const BUILD = 'unbuilt';", `const BUILD = '${build}';`)
  .replace('const SHELL = [];', `const SHELL = ${JSON.stringify(shell)};`);
if (stampedSw === sw) throw new Error(`${swPath}: no BUILD and SHELL to fill in`);
writeFileSync(swPath, stampedSw);
console.log(`stamp-build.mjs: build ${build}; ${Object.values(loaders).join(', ')}; service worker keeps ${shell.length} files`);
