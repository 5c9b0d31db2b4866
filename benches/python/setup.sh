#!/usr/bin/env bash
# Installs the side-by-side stacks of the `scenarios` bench into a virtual environment under
# the cache folder (never the system Python):
#
#     bash benches/python/setup.sh
#
# - llama-cpp-python (the prototype's stack), built from its sdist for the CPU. The llama.cpp
#   build flags default to the ones our host's llama-cpp-sys-2 build gets on this machine
#   (GGML_NATIVE off: ggml's x86-64-v3 / Armv8 baseline; no OpenMP: its spinning thread pool
#   collapses on a busy 2-core machine, and our build has it off too), so the comparison is
#   of the stacks, not of the compiler flags. Override with MAC_STATUS_BENCH_CMAKE_ARGS, e.g.
#   "-DGGML_NATIVE=ON -DGGML_OPENMP=OFF" for what a plain `pip install` would build.
# - glances with its REST server (`glances -w`).
#
# Re-running is cheap: pip skips what is installed. The venv's path is printed at the end.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/mac-status"
venv="${MAC_STATUS_BENCH_VENV:-$cache/bench-venv}"
python="${PYTHON:-python3}"

cmake_args="${MAC_STATUS_BENCH_CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_OPENMP=OFF}"
case "$(uname -s)" in
    # The comparison is CPU only (n_gpu_layers = 0 on both sides); skip the Metal build.
    Darwin) cmake_args="$cmake_args -DGGML_METAL=OFF" ;;
esac

command -v cmake >/dev/null || { echo "setup.sh: cmake is needed to build llama-cpp-python" >&2; exit 1; }
"$python" -c 'import sys; assert sys.version_info >= (3, 9), sys.version' \
    || { echo "setup.sh: Python 3.9 or newer is needed ($python)" >&2; exit 1; }

if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip

echo "building llama-cpp-python from source (CMAKE_ARGS=$cmake_args); several minutes on 2 cores"
CMAKE_ARGS="$cmake_args" \
CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}" \
FORCE_CMAKE=1 \
    "$venv/bin/python" -m pip install --no-binary llama-cpp-python -r "$here/requirements.txt"

# What the bench reads to say which versions it compared, and that the venv is complete.
# Every package's exact version goes into the bench's JSON (requirements.txt pins the two
# compared; their dependencies are left to pip so older Pythons still resolve).
"$venv/bin/python" - "$cmake_args" > "$venv/mac-status-bench.json" <<'PY'
import json, sys
from importlib.metadata import distributions, version
print(json.dumps({
    "python": sys.version.split()[0],
    "llama_cpp_python": version("llama-cpp-python"),
    "glances": version("glances"),
    "cmake_args": sys.argv[1],
    "packages": sorted(f"{d.metadata['Name']}=={d.version}" for d in distributions()),
}))
PY
echo "ready: $venv ($(cat "$venv/mac-status-bench.json"))"
