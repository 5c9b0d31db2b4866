#!/usr/bin/env bash
# One command: set up what is missing, then run every test — unit, integration (real server,
# real model) and browser (Playwright in headless Chromium against the real host).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh" --test
source "$ROOT/scripts/env.sh"

echo "==> build (release: the same artifacts serve the tests and the browser run)"
# --precompress: brotli and gzip beside each file, served as they are (1.3 MB of WASM is 0.37 MB).
cargo leptos build --release --precompress

echo "==> unit and integration tests"
cargo test --release --workspace --exclude benches

echo "==> browser tests (Playwright, headless Chromium)"
(cd end2end && npx playwright test)

echo "==> supervision under injected faults (test-only feature; last, as it relinks the host binary)"
cargo test --release -p mac-status --features fault-hooks --test supervision
