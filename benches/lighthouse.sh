#!/usr/bin/env bash
# Lighthouse (npm lighthouse@12.2.3, Debian's Chromium) against the real release host, plus the
# compressed transfer size of the app's WASM + JS + CSS (budget: 350 KB brotli). Lighthouse
# varies from run to run: RUNS (default 3) runs, their medians printed, the median run (by
# performance) kept as benches/results/lighthouse.json.
#   cargo xtask build && bash benches/lighthouse.sh   (as scripts/run.sh builds)
#   PRESET=desktop RUNS=1 bash benches/lighthouse.sh
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
RUNS="${RUNS:-3}"
for i in $(seq "$RUNS"); do
  CHROME_PATH="$CHROME" "$TOOLS/node_modules/.bin/lighthouse" "http://127.0.0.1:$PORT/" \
    "${PRESET_ARG[@]}" --quiet --output=json --output-path="$OUT/lighthouse.run$i.tmp" \
    --only-categories=performance,accessibility,best-practices \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run"
done

python3 - "$OUT" "$RUNS" <<'PY'
import json, os, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
paths = [os.path.join(out, f"lighthouse.run{i}.tmp") for i in range(1, runs + 1)]
reports = [json.load(open(p)) for p in paths]
metrics = {
    "FCP (ms)": "first-contentful-paint",
    "LCP (ms)": "largest-contentful-paint",
    "TBT (ms)": "total-blocking-time",
    "CLS": "cumulative-layout-shift",
    "SI (ms)": "speed-index",
}
def row(r):
    v = {c["title"]: round(c["score"] * 100) for c in r["categories"].values()}
    for name, audit in metrics.items():
        n = r["audits"][audit]["numericValue"]
        v[name] = round(n, 3) if name == "CLS" else round(n)
    return v
rows = [row(r) for r in reports]
keys = list(rows[0])
print("| run | " + " | ".join(keys) + " |\n|---|" + "---:|" * len(keys))
for i, v in enumerate(rows, 1):
    print(f"| {i} | " + " | ".join(str(v[k]) for k in keys) + " |")
print("| **median** | " + " | ".join(str(statistics.median(v[k] for v in rows)) for k in keys) + " |")
# The median run (by performance) is kept as lighthouse.json.
order = sorted(range(runs), key=lambda i: rows[i]["Performance"])
r = reports[order[(runs - 1) // 2]]
with open(os.path.join(out, "lighthouse.json"), "w") as f:
    json.dump(r, f)
for p in paths:
    os.remove(p)
items = r["audits"]["network-requests"]["details"]["items"]
app = [i for i in items if i["url"].split("?")[0].endswith((".wasm", ".js", ".css"))]
total = sum(i.get("transferSize", 0) for i in app)
print("\n| file | transferred (bytes) | type |\n|---|---|---|")
for i in app:
    print(f"| {i['url'].split('/')[-1]} | {i.get('transferSize', 0)} | {i.get('resourceType', '')} |")
print(f"\nWASM + JS + CSS transferred: {total / 1024:.1f} KiB = {total} bytes (budget 350 KB brotli)")
fails = [a["title"] for a in r["audits"].values() if a.get("score") is not None and a["score"] < 1 and a.get("scoreDisplayMode") == "binary"]
if fails:
    print("\nFailed audits (median run):\n- " + "\n- ".join(fails))
PY
