#!/usr/bin/env bash
# Sets up, then runs every test: native unit and integration tests, then the end-to-end
# tests that build the site and drive it in headless Chromium and Firefox ESR.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
source scripts/env.sh

echo "== native tests (cargo test)"
cargo test --release --locked

echo "== browser tests (node --test: headless Chromium through playwright-core, headless Firefox ESR through puppeteer-core)"
node --test --test-concurrency=1 tests/e2e/
