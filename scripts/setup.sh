#!/usr/bin/env bash
# Installs whatever latentlab's build (and, with --test, its tests) needs and is missing,
# from package registries only: nothing downloads a prebuilt binary of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130
TRUNK_VERSION=0.21.14
want_test_tools=false
want_bench_tools=false
[[ "${1:-}" == "--test" ]] && want_test_tools=true
# --bench: the tests' tools, and Mesa's Vulkan drivers (lavapipe) for the native wgpu line.
[[ "${1:-}" == "--bench" ]] && want_test_tools=true && want_bench_tools=true

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

apt_packages=()
command -v node >/dev/null || apt_packages+=(nodejs)
command -v npm >/dev/null || apt_packages+=(npm)
command -v cc >/dev/null || apt_packages+=(build-essential)
command -v pkg-config >/dev/null || apt_packages+=(pkg-config)
if $want_test_tools; then
  command -v chromium >/dev/null || apt_packages+=(chromium)
  command -v firefox-esr >/dev/null || apt_packages+=(firefox-esr)
fi
if $want_bench_tools; then
  [[ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ]] || apt_packages+=(mesa-vulkan-drivers libvulkan1)
fi
if ((${#apt_packages[@]})); then
  say "installing Debian packages: ${apt_packages[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "Rust is missing: install rustup and a stable toolchain (rustc >= 1.95) first." >&2
  exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The lab's multi-threaded worker (scripts/build-threads.sh) rebuilds std with wasm atomics:
# the image's nightly toolchain and its std sources.
if rustup toolchain list | grep -q '^nightly' && ! rustup component list --toolchain nightly --installed | grep -q '^rust-src'; then
  say "adding rust-src to the nightly toolchain (the lab's threads rebuild std with atomics)"
  rustup component add rust-src --toolchain nightly
fi

if [[ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$WASM_BINDGEN_VERSION" ]]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes)"
  # Not --locked: its lockfile wants a webpki-roots version crates.io no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi
if [[ "$(trunk --version 2>/dev/null | cut -d' ' -f2)" != "$TRUNK_VERSION" ]]; then
  say "installing trunk $TRUNK_VERSION (about 15 minutes on 2 cores)"
  cargo install trunk --version "$TRUNK_VERSION" --locked --force
fi

# Every npm tool at the version tools/package.json pins (wasm-opt, the browser drivers, axe-core).
tools_installed() {
  node -e 'const want = require("./tools/package.json").devDependencies;
    for (const [name, version] of Object.entries(want)) {
      try { if (require(`./tools/node_modules/${name}/package.json`).version !== version) process.exit(1); } catch { process.exit(1); }
    }'
}
if ! tools_installed; then
  say "installing wasm-opt, playwright-core, puppeteer-core and axe-core (npm, pinned in tools/package-lock.json)"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi

say "fetching crates (trunk builds offline)"
cargo fetch --locked --target wasm32-unknown-unknown >/dev/null
cargo fetch --locked >/dev/null
