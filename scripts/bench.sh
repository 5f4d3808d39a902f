#!/usr/bin/env bash
# The benchmark: builds the release site and the native tools, installs the TensorFlow.js
# peer (pinned, bench/package-lock.json), then drives headless Chromium and prints a table
# (also written to target/bench/results.json and results.md). Not part of the test run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench
source scripts/env.sh
# `native-gpu`: the native line on burn's wgpu backend as well (`latentlab bench --backend wgpu`).
cargo build --release --locked --features native-gpu
trunk build --release --cargo-profile web-release
(cd bench && npm ci --no-audit --no-fund)
node bench/run.mjs
node bench/lab.mjs
node bench/lighthouse.mjs
