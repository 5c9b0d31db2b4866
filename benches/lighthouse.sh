#!/usr/bin/env bash
# Lighthouse (npm lighthouse@12.2.3, Debian's Chromium) against the real release host, plus the
# compressed transfer size of the app's WASM + JS + CSS (budget: 350 KB brotli).
#   cargo xtask build && bash benches/lighthouse.sh   (as scripts/run.sh builds)
#   PRESET=desktop bash benches/lighthouse.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh"
TOOLS="$MAC_STATUS_CACHE/tools"
PORT="${PORT:-3299}"
CHROME="${CHROME_PATH:-/usr/bin/chromium}"
OUT="$ROOT/benches/results"
mkdir -p "$OUT"

[[ -x "$TOOLS/node_modules/.bin/lighthouse" ]] ||
  npm install --prefix "$TOOLS" --no-audit --no-fund --silent lighthouse@12.2.3

"$ROOT/target/release/mac-status" --addr "127.0.0.1:$PORT" --no-model >/dev/null 2>&1 &
HOST=$!
trap 'kill $HOST 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

# PRESET=desktop for the Mac the app is for; Lighthouse's default is a throttled phone.
PRESET_ARG=()
[[ -n "${PRESET:-}" ]] && PRESET_ARG=(--preset="$PRESET")
CHROME_PATH="$CHROME" "$TOOLS/node_modules/.bin/lighthouse" "http://127.0.0.1:$PORT/" \
  "${PRESET_ARG[@]}" --quiet --output=json --output-path="$OUT/lighthouse.json" \
  --only-categories=performance,accessibility,best-practices \
  --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run"

python3 - "$OUT/lighthouse.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("| category | score |\n|---|---|")
for k, c in r["categories"].items():
    print(f"| {c['title']} | {round(c['score'] * 100)} |")
items = r["audits"]["network-requests"]["details"]["items"]
app = [i for i in items if i["url"].split("?")[0].endswith((".wasm", ".js", ".css"))]
total = sum(i.get("transferSize", 0) for i in app)
print("\n| file | transferred (bytes) | encoding |\n|---|---|---|")
for i in app:
    print(f"| {i['url'].split('/')[-1]} | {i.get('transferSize', 0)} | {i.get('resourceType', '')} |")
print(f"\nWASM + JS + CSS transferred: {total / 1024:.1f} KiB (budget 350 KB brotli)")
fails = [a["title"] for a in r["audits"].values() if a.get("score") is not None and a["score"] < 1 and a.get("scoreDisplayMode") == "binary"]
if fails:
    print("\nFailed audits:\n- " + "\n- ".join(fails))
PY
