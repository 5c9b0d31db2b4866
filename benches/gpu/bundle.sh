#!/usr/bin/env bash
# Prepares, on this (GPU-less) build machine, everything the lent GPU machine needs to run the
# host on its GPU and measure it, in two transfers of at most 64 MiB each (see README, *GPU*):
#
#   benches/gpu/bundle/a/  model part 1, ggml's source trimmed to what the CUDA backend needs,
#                          the scenario bench binary, the scripts
#   benches/gpu/bundle/b/  model part 2, the host binary and its llama.cpp shared libraries
#                          with the safe CPU variants only
#
# The GPU machine has nvcc, cmake and ninja but no Rust and no network: it builds only the
# CUDA backend (device.sh cuda), from the same vendored ggml the binary was built with.
#
#   bash benches/gpu/bundle.sh            # build (gpu feature, target-gpu/) and pack
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/env.sh

TARGET=${TARGET_DIR:-target-gpu}
MODEL=${MODEL:-models/SmolLM2-135M-Instruct-Q4_1.gguf}
OUT=benches/gpu/bundle
# ggml scores every CPU variant by CPUID and loads the best; on this AMD virtual machine it chose
# `sapphirerapids` and died with an illegal instruction. Ship only variants every x86-64 server
# of the last decade runs: the baseline and AVX2 (both machines here pick `haswell`).
CPU_VARIANTS=${CPU_VARIANTS:-"x64 haswell"}

echo "==> the gpu flavour (llama.cpp backends as shared libraries)"
cargo build --release --target-dir "$TARGET" -p mac-status -p benches --features mac-status/gpu \
    --bin mac-status --bin scenarios

rel=$TARGET/release
sys_out=$(dirname "$(ls -t "$rel"/build/llama-cpp-sys-2-*/out/backends/libggml-cpu-x64.so | head -1)")/..
sys_out=$(cd "$sys_out" && pwd)
rm -rf "$OUT"
mkdir -p "$OUT/a" "$OUT/b/bin"

echo "==> binaries and their shared libraries"
cp "$rel/mac-status" "$OUT/b/bin/"
cp "$rel/scenarios" "$OUT/a/"
strip "$OUT/b/bin/mac-status" "$OUT/a/scenarios"
for lib in $(ldd "$rel/mac-status" | awk '/lib(llama|ggml)/ {print $1}'); do
    cp -L "$(find "$sys_out" -name "$lib" | head -1)" "$OUT/b/bin/$lib"
done
for v in $CPU_VARIANTS; do
    cp "$sys_out/backends/libggml-cpu-$v.so" "$OUT/b/bin/"
done
strip --strip-unneeded "$OUT"/b/bin/*.so*

echo "==> the CPU variant ggml picks here, from the shipped ones only"
# (The host logs to standard output, so the log and the JSON come from two runs.)
log=$(mktemp)
RUST_LOG=info LD_LIBRARY_PATH="$OUT/b/bin" "$OUT/b/bin/mac-status" profile --model "$MODEL" \
    >"$log" 2>&1 || { cat "$log"; exit 1; }
LD_LIBRARY_PATH="$OUT/b/bin" "$OUT/b/bin/mac-status" profile --model "$MODEL" >"$OUT/profile-here.json"
picked=$(grep -o 'libggml-cpu-[a-z0-9_]*\.so' "$log" | sort -u | tr '\n' ' ')
[ -n "$picked" ] || { echo "no CPU variant was loaded" >&2; cat "$log"; exit 1; }
echo "   loaded: $picked"
for v in $picked; do
    name=${v#libggml-cpu-}
    case " $CPU_VARIANTS " in
    *" ${name%.so} "*) ;;
    *) echo "unexpected CPU variant $v" >&2; exit 1 ;;
    esac
done
rm -f "$log"

echo "==> ggml's source for the CUDA backend (the other backends' folders left out; ggml-base includes ggml-cpu headers)"
src=$(find "$HOME/.cargo/registry/src" -maxdepth 1 -mindepth 1 -type d | head -1)
sys_src=$(ls -d "$src"/llama-cpp-sys-2-"$(cargo metadata --format-version 1 --locked 2>/dev/null |
    python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="llama-cpp-sys-2"))')")
tar -C "$sys_src/llama.cpp" -cJf "$OUT/a/ggml-src.tar.xz" \
    --exclude='ggml/src/ggml-'{blas,cann,et,hexagon,hip,kompute,metal,musa,opencl,openvino,rpc,sycl,virtgpu,vulkan,webgpu,zdnn,zendnn} \
    ggml

echo "==> the model in parts"
split -b 48M "$(readlink -f "$MODEL")" "$OUT/model.part-"
mv "$OUT/model.part-aa" "$OUT/a/"
mv "$OUT"/model.part-* "$OUT/b/"
sha256sum "$(readlink -f "$MODEL")" | awk '{print $1}' >"$OUT/a/model.sha256"

cp benches/gpu/device.sh benches/scenarios.tsv "$OUT/a/"
# Compressed: part b must stay under 64 MiB with the model part and the tree.
xz -T2 -6 "$OUT"/b/bin/* "$OUT/a/scenarios"
du -sh "$OUT/a" "$OUT/b"
