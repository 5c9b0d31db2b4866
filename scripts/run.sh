#!/usr/bin/env bash
# One command: set up what is missing, build the release app, and run it on http://127.0.0.1:PORT.
#   PORT=3000 by default; extra arguments go to `mac-status` (see `mac-status --help`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
source "$ROOT/scripts/env.sh"
# The release site and host (xtask/src/main.rs: what `cargo leptos build --release --precompress`
# makes, without cargo-leptos), the site inside the binary: content-hashed names, brotli/gzip.
cargo xtask build
PORT="${PORT:-3000}"
exec "$ROOT/target/release/mac-status" --addr "127.0.0.1:$PORT" "$@"
