#!/usr/bin/env bash
# Builds the multi-threaded CPU workers (feature `threads`): the lab's and the views'
# engine, which split their work (a training batch, a decode's points) over rayon's
# threads, on wasm threads. Wasm threads need a nightly rustc that rebuilds std
# with atomics (`-Z build-std`), so these binaries are built here, beside trunk's build, in a
# target directory of its own; trunk's post-build hook (scripts/stamp-build.mjs) copies
# what this writes into the site.
#
#   scripts/build-threads.sh [web-fast|web-release]
#
# Without an argument, trunk's profile picks it (trunk runs this as its `build` hook, beside
# its own cargo builds): `trunk build --release` → web-release, else web-fast.
#
# Output: target/threads/site/ (the workers' JS and wasm, and wasm-bindgen-rayon's helper).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${TRUNK_PROFILE:-debug}" = release ]; then default_profile=web-release; else default_profile=web-fast; fi
profile="${1:-$default_profile}"
nightly="${LATENTLAB_NIGHTLY:-nightly}"
out="$PWD/target/threads/site"

# Without a nightly toolchain and its std sources the site is built without this worker
# (the lab then says its CPU engine has one thread, and why).
if ! rustup component list --toolchain "$nightly" --installed 2>/dev/null | grep -q '^rust-src'; then
  echo "build-threads.sh: no $nightly toolchain with rust-src (scripts/setup.sh adds it): the site is built without the lab's threads" >&2
  rm -rf "$out"
  exit 0
fi

# Since rustc stopped inferring shared memory from +atomics, the link asks for it, and
# exports the thread-local storage symbols wasm-bindgen's threads transform needs.
# (RUSTFLAGS replaces .cargo/config.toml's flags, so +simd128 is named again here.)
max_memory=$((2 * 1024 * 1024 * 1024))
export RUSTFLAGS="-C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals \
 -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=$max_memory \
 -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
 -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base"
export CARGO_TARGET_DIR="$PWD/target/threads"

cargo "+$nightly" build --locked --target wasm32-unknown-unknown -Z build-std=std,panic_abort \
  --profile "$profile" --bin lab-worker --bin engine-worker --features threads

rm -rf "$out"
mkdir -p "$out"
# (No wasm-opt here, even for the release site: its -O3 made these threaded binaries
# slower, measured in the release build: the grid on 2 threads 243 ms against 177 ms
# without it, conv training 227–236 against 276 images/s.)
for worker in lab-worker engine-worker; do
  wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name "$worker-threads" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile/$worker.wasm"
done
ls -l "$out" "$out"/snippets/*/src 2>/dev/null || true
