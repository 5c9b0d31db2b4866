#!/usr/bin/env bash
# One command: set up what is missing, then run every test — unit, integration (real server,
# real model) and browser (Playwright in headless Chromium against the real host).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh" --test
source "$ROOT/scripts/env.sh"

echo "==> build (release: the same artifacts serve the tests and the browser run)"
cargo leptos build --release

echo "==> unit and integration tests"
cargo test --release --workspace --exclude benches

echo "==> browser tests (Playwright, headless Chromium)"
(cd end2end && npx playwright test)
