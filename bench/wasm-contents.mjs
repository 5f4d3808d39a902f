// What a wasm binary is made of: the size of its function bodies grouped by the crate that
// defined them, read from the binary's name section (trunk keeps it unless wasm-opt strips
// it; the release build's wasm-opt does, so run this on the tests' build, web-fast, where
// it shows the same code before optimisation). Usage: node bench/wasm-contents.mjs FILE.wasm [top]
// Prints a table and, with --json, JSON. Hand-written: twiggy would do this, but it is not in
// Debian and builds for minutes from crates.io, for a table this short.
import { readFileSync } from 'node:fs';

function readLeb(bytes, at) {
  let result = 0, shift = 0, byte;
  do {
    byte = bytes[at++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [result, at];
}

/** Function body sizes by function index, and function names by index. */
export function functionSizes(bytes) {
  let at = 8, imported = 0;
  const bodies = [], names = new Map();
  while (at < bytes.length) {
    const id = bytes[at++];
    let size;
    [size, at] = readLeb(bytes, at);
    const end = at + size;
    if (id === 2) {
      let count, p = at;
      [count, p] = readLeb(bytes, p);
      for (let i = 0; i < count; i++) {
        for (let part = 0; part < 2; part++) { let len; [len, p] = readLeb(bytes, p); p += len; }
        const kind = bytes[p++];
        if (kind === 0) { imported++; [, p] = readLeb(bytes, p); }
        else if (kind === 1) { p++; const flags = bytes[p++]; [, p] = readLeb(bytes, p); if (flags & 1) [, p] = readLeb(bytes, p); }
        else if (kind === 2) { const flags = bytes[p++]; [, p] = readLeb(bytes, p); if (flags & 1) [, p] = readLeb(bytes, p); }
        else if (kind === 3) { p += 2; }
        else if (kind === 4) { p++; [, p] = readLeb(bytes, p); }
      }
    } else if (id === 10) {
      let count, p = at;
      [count, p] = readLeb(bytes, p);
      for (let i = 0; i < count; i++) { let len; [len, p] = readLeb(bytes, p); bodies.push(len); p += len; }
    } else if (id === 0) {
      let len, p = at;
      [len, p] = readLeb(bytes, p);
      const name = new TextDecoder().decode(bytes.subarray(p, p + len));
      p += len;
      if (name === 'name') {
        while (p < end) {
          const sub = bytes[p++];
          let subSize; [subSize, p] = readLeb(bytes, p);
          const subEnd = p + subSize;
          if (sub === 1) {
            let count; [count, p] = readLeb(bytes, p);
            for (let i = 0; i < count; i++) {
              let index, nameLen; [index, p] = readLeb(bytes, p); [nameLen, p] = readLeb(bytes, p);
              names.set(index, new TextDecoder().decode(bytes.subarray(p, p + nameLen)));
              p += nameLen;
            }
          }
          p = subEnd;
        }
      }
    }
    at = end;
  }
  return bodies.map((size, i) => ({ size, name: names.get(imported + i) ?? '' }));
}

/** The crate a (mangled or demangled) Rust symbol belongs to; for `<A as B>::f`, A's crate. */
export function crateOf(symbol) {
  let text = symbol.replace(/\$LT\$/g, '<').replace(/\$GT\$/g, '>').replace(/\$u20\$/g, ' ').replace(/\.\./g, '::');
  const legacy = /^_ZN(\d+)(.*)$/.exec(text);
  if (legacy) {
    const first = legacy[2].slice(0, Number(legacy[1]));
    text = first.startsWith('_<') ? first.slice(2) : first;
  }
  text = text.replace(/^<+/, '').replace(/^(&|mut |dyn |\*const |\*mut |\[)+/, '');
  const crate = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(text);
  if (!crate) return symbol ? '(other)' : '(unnamed)';
  return crate[1];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  const top = Number(process.argv[3] ?? 15);
  const bytes = readFileSync(file);
  const byCrate = new Map();
  let total = 0;
  for (const { size, name } of functionSizes(bytes)) {
    const crate = crateOf(name);
    byCrate.set(crate, (byCrate.get(crate) ?? 0) + size);
    total += size;
  }
  const rows = [...byCrate.entries()].sort((a, b) => b[1] - a[1]);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ file, fileBytes: bytes.length, codeBytes: total, byCrate: Object.fromEntries(rows) }));
  } else {
    console.log(`${file}: ${(bytes.length / 1024).toFixed(0)} KB, of which function bodies ${(total / 1024).toFixed(0)} KB`);
    console.log('| crate | code KB | share |');
    console.log('| --- | --- | --- |');
    for (const [crate, size] of rows.slice(0, top)) console.log(`| ${crate} | ${(size / 1024).toFixed(0)} | ${((100 * size) / total).toFixed(1)}% |`);
  }
}
