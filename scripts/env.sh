# Sourced by the other scripts: puts the pinned tools first on PATH.
MAC_STATUS_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/mac-status"
export PATH="$MAC_STATUS_CACHE/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export LEPTOS_WASM_OPT_VERSION="${LEPTOS_WASM_OPT_VERSION:-version_132}"
