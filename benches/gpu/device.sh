#!/usr/bin/env bash
# The commands run on the lent GPU machine (no Rust, no network; nvcc, cmake, ninja there), on
# what bundle.sh packed. Two steps, because one transfer carries at most 64 MiB:
#
#   bash device.sh cuda A_DIR           # call 1: keep part 1 of the model and the bench binary,
#                                       # start building the CUDA backend (detached, ~3.5 min)
#   bash device.sh run B_DIR OUT_DIR    # call 2, within 30 s: join the model, wait for the
#                                       # backend, then measure the profile's choice and the
#                                       # bare loop beside it (same run), on loopback
#   bash device.sh cpu OUT_DIR          # call 3, within 30 s: --gpu-layers 0, and CUDA
#                                       # hidden (the profile's CPU-only choice)
#
# Work files live in /tmp/gpu (kept between calls made within 30 s of each other).
set -euo pipefail
W=/tmp/gpu
step=${1:?cuda|run}

case "$step" in
cuda)
    A=$(cd "${2:?bundle part a}" && pwd)
    rm -rf "$W" && mkdir -p "$W/src"
    cp "$A/model.part-aa" "$A/model.sha256" "$A/scenarios.tsv" "$W/"
    xz -dc "$A/scenarios.xz" >"$W/scenarios" && chmod +x "$W/scenarios"
    tar -C "$W/src" -xJf "$A/ggml-src.tar.xz"
    # ggml's CMakeLists writes a pkg-config file from this template; its text does not matter.
    : >"$W/src/ggml/ggml.pc.in"
    cat >"$W/build.sh" <<'BUILD'
set -e
W=/tmp/gpu
{
    nvcc --version | tail -2
    cmake -S $W/src/ggml -B $W/cuda -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DGGML_CUDA=ON -DGGML_BACKEND_DL=ON -DBUILD_SHARED_LIBS=ON -DGGML_CPU=OFF \
        -DGGML_NATIVE=OFF -DCMAKE_CUDA_ARCHITECTURES=90 \
        -DGGML_BUILD_TESTS=OFF -DGGML_BUILD_EXAMPLES=OFF
    time ninja -C $W/cuda ggml-cuda
    echo ok >$W/cuda.done
} >$W/cuda.log 2>&1 || echo failed >$W/cuda.done
BUILD
    # Detached (its own session), so it outlives this call.
    setsid nohup bash "$W/build.sh" >/dev/null 2>&1 </dev/null &
    echo "CUDA backend build started; $(nproc) cores"
    ;;
run)
    B=$(cd "${2:?bundle part b}" && pwd)
    OUT=${3:?out dir}
    mkdir -p "$OUT"
    log=$OUT/device.log
    exec > >(tee -a "$log") 2>&1
    cat "$W/model.part-aa" "$B"/model.part-a[b-z] >"$W/model.gguf"
    echo "$(cat "$W/model.sha256")  $W/model.gguf" | sha256sum -c -
    mkdir -p "$W/bin" && cp -a "$B"/bin/* "$W/bin/"
    xz -df "$W"/bin/*.xz && chmod +x "$W/bin/mac-status"
    if [ -f "$W/scenarios" ]; then mv "$W/scenarios" "$W/bin/"; fi
    nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv
    lscpu | grep -E 'Model name|^CPU\(s\)|Thread|Core'
    while [ ! -f "$W/cuda.done" ]; do sleep 2; done
    cat "$W/cuda.log" | tail -5
    grep -q ok "$W/cuda.done"
    cp "$W/cuda/bin/libggml-cuda.so" "$W/bin/"
    export LD_LIBRARY_PATH="$W/bin:/usr/local/cuda/lib64"
    cd "$W"
    echo "==> profile (devices llama.cpp lists, the layers it chose)"
    RUST_LOG=info bin/mac-status profile --model model.gguf >profile.log 2>&1 || cat profile.log
    grep -E 'loaded|backend|CUDA' profile.log | head -12
    # The host logs to standard output too: keep the JSON only.
    bin/mac-status profile --model model.gguf | sed -n '/^{/,$p' >"$OUT/gpu-profile.json"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["offload"]["reason"]); print([d["name"]+": "+d["description"] for d in r["offload"]["devices"]])' "$OUT/gpu-profile.json" || true
    common=(--quick --lang en --binary bin/mac-status --site-root "$W/site" --model model.gguf
        --scenarios scenarios.tsv --no-monitor)
    echo "==> scenarios, the profile's choice, and the bare loop beside it (same run)"
    timeout 420 bin/scenarios "${common[@]}" --side-by-side --side-by-side-runs "${SBS_RUNS:-3}" \
        --out "$OUT/gpu-profile-choice.json" | tail -40
    ;;
cpu)
    # Call 3, within 30 s of call 2: the same machine's CPU, two ways.
    OUT=${2:?out dir}
    mkdir -p "$OUT"
    exec > >(tee -a "$OUT/device-cpu.log") 2>&1
    export LD_LIBRARY_PATH="$W/bin:/usr/local/cuda/lib64"
    cd "$W"
    common=(--quick --lang en --binary bin/mac-status --site-root "$W/site" --model model.gguf
        --scenarios scenarios.tsv --no-monitor)
    echo "==> scenarios, --gpu-layers 0 (weights on the CPU; CUDA still loaded)"
    timeout 150 bin/scenarios "${common[@]}" --host-arg=--gpu-layers=0 \
        --out "$OUT/gpu-layers0.json" | tail -14
    echo "==> scenarios, CUDA hidden (CUDA_VISIBLE_DEVICES=''): the profile's CPU-only choice"
    CUDA_VISIBLE_DEVICES='' bin/mac-status profile --model model.gguf | sed -n '/^{/,$p' \
        >"$OUT/gpu-hidden-profile.json"
    CUDA_VISIBLE_DEVICES='' timeout 150 bin/scenarios "${common[@]}" \
        --out "$OUT/gpu-cuda-hidden.json" | tail -14
    ;;
*)
    echo "unknown step $step" >&2
    exit 2
    ;;
esac
