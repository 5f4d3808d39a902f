#!/usr/bin/env bash
# Sets up, builds the release site into pkg/ and serves it at http://127.0.0.1:8080
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
exec trunk serve --release --cargo-profile web-release "$@"
