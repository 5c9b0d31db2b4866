#!/usr/bin/env bash
# One command: set up what is missing, then run every test — unit, integration (real server,
# real model) and browser (Playwright in headless Chromium against the real host).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh" --test
source "$ROOT/scripts/env.sh"

echo "==> build (release: the same artifacts serve the tests and the browser run)"
# The release site and host (xtask/src/main.rs: what `cargo leptos build --release --precompress`
# makes, without cargo-leptos): brotli and gzip beside each file, served as they are.
cargo xtask build

echo "==> unit and integration tests"
cargo test --release --workspace --exclude benches

echo "==> browser tests (Playwright, headless Chromium)"
(cd end2end && npx playwright test)

echo "==> supervision under injected faults (test-only feature; last, as it relinks the host binary)"
cargo test --release -p mac-status --features fault-hooks --test supervision
