#!/usr/bin/env bash
# The CUDA check: M1 and M4 epoch times and training throughput on a GPU.
#
# GPU machines lent to this project have their own PyTorch and no Rust
# toolchain, so the check is built here against the torch version the GPU
# machine has, and run there with that torch's libraries:
#
#   bench/cuda-check.sh build 2.11.0    # here: ~1 GB download, ~5 min build
#   bench/cuda-check.sh run             # there, from the repository root
#
# `build` downloads the torch wheel (no CUDA runtime: the GPU machine has
# one), builds a copy of atelier against its libtorch with the tch release
# made for that torch (tch 0.26 is for 2.13 only; its generated C++ does not
# compile against older headers), strips it and puts it with the
# Fashion-MNIST files in target/cuda-check/bundle (about 50 MB). `run` needs only that
# folder; it writes its report to $OUT (or target/cuda-check/out) and
# finishes in about three minutes on an H200: two epochs of M1 and M4 on the
# full training set (the first includes CUDA start-up and kernel selection),
# then 2 epochs of the `beyond` plan's small ResNet (B3) and
# `atelier bench --device cuda`.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
work="$here/target/cuda-check"
bundle="$work/bundle"

build() {
    local version=${1:?usage: bench/cuda-check.sh build TORCH_VERSION (the GPU machine\'s, e.g. 2.11.0)}
    local python=${PYTHON:-python3}
    mkdir -p "$work/wheel" "$bundle/data"
    if [ ! -d "$work/libtorch-$version" ]; then
        "$python" -m pip download --quiet --no-deps --only-binary=:all: \
            --dest "$work/wheel" "torch==$version"
        local wheel
        wheel=$(ls "$work"/wheel/torch-"$version"*.whl | head -n 1)
        rm -rf "$work/unpacked"
        "$python" -m zipfile -e "$wheel" "$work/unpacked"
        mv "$work/unpacked/torch" "$work/libtorch-$version"
        rm -rf "$work/unpacked"
    fi
    # tch releases follow PyTorch's: 0.23 → 2.10, 0.24 → 2.11, 0.25 → 2.12, 0.26 → 2.13.
    local minor=${version#2.}
    minor=${minor%%.*}
    local tch="0.$((minor + 13))"
    rm -rf "$work/src"
    mkdir -p "$work/src"
    git -C "$here" archive HEAD | tar -x -C "$work/src"
    sed -i -E "s/^(tch|torch-sys) = \"[^\"]*\"/\1 = \"=$tch.0\"/" "$work/src/Cargo.toml"
    (cd "$work/src" && cargo update --quiet -p tch -p torch-sys)
    LIBTORCH="$work/libtorch-$version" \
        cargo build --release --target-dir "$work/target" --manifest-path "$work/src/Cargo.toml"
    cp "$work/target/release/atelier" "$bundle/atelier"
    strip "$bundle/atelier"
    if ! readelf -d "$bundle/atelier" | grep -q torch_cuda; then
        echo "error: the check binary does not link libtorch_cuda.so; CUDA would be unavailable" >&2
        exit 1
    fi
    local data=${ATELIER_DATA:-/usr/share/datasets/fashion-mnist}
    cp "$data"/*-ubyte.gz "$bundle/data/"
    echo "$version" >"$bundle/torch-version"
    du -sh "$bundle"
}

run() {
    local out=${OUT:-$work/out}
    local python=${TORCH_PYTHON:-/opt/torch/.venv/bin/python}
    [ -x "$python" ] || python=python3
    local torch_lib
    torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
    local found
    found=$("$python" -c 'import torch; print(torch.__version__.split("+")[0])')
    if [ "$found" != "$(cat "$bundle/torch-version")" ]; then
        echo "error: built for torch $(cat "$bundle/torch-version"), this machine has $found" >&2
        exit 1
    fi
    mkdir -p "$out"
    # libtorch_cuda finds the CUDA runtime through its RUNPATH into the
    # venv's nvidia/* packages; naming them too makes that independent of
    # how the wheel was laid out.
    local nvidia
    nvidia=$(find "$torch_lib/../../nvidia" -maxdepth 3 -type d -name lib 2>/dev/null | paste -sd: -)
    export LD_LIBRARY_PATH="$torch_lib${nvidia:+:$nvidia}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export ATELIER_RUNS="$out/runs" ATELIER_DATA="$bundle/data"
    local atelier="$bundle/atelier"
    {
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
        "$atelier" data info | grep -i libtorch
        for model in M1 M4; do
            for precision in fp32 bf16; do
                "$atelier" train --device cuda --only "$model" --epochs 2 \
                    --precision "$precision"
            done
        done
        "$python" - "$out/runs" <<'EOF'
import json, pathlib, sys
print("\nepoch seconds on CUDA (2 epochs; the first includes start-up)")
print(f"{'run':<12}{'precision':<11}{'epoch 1':>9}{'epoch 2':>9}{'img/s':>9}{'val acc':>9}")
for folder in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    if not (folder / "events.jsonl").exists():
        continue
    record = json.loads((folder / "run.json").read_text())
    ends = [e for e in map(json.loads, (folder / "events.jsonl").read_text().splitlines())
            if e["type"] == "epoch_end"]
    started = next(e for e in map(json.loads, (folder / "events.jsonl").read_text().splitlines())
                   if e["type"] == "started")
    seconds = [e["seconds"] for e in ends]
    rate = started["train_samples"] / seconds[-1] if seconds else 0
    print(f"{record['spec']['name']:<12}{record['spec'].get('precision', 'fp32'):<11}"
          + "".join(f"{s:>9.2f}" for s in seconds)
          + f"{rate:>9,.0f}{ends[-1]['val_accuracy'] if ends else 0:>9.4f}")
EOF
        # The beyond plan's GPU models, never run before: 2 epochs of the
        # small ResNet (B3) with its whole recipe, and its throughput.
        "$atelier" train --plan beyond --only B3 --device cuda --epochs 2 ||
            echo "beyond B3 failed"
        echo
        "$atelier" bench --device cuda --rounds 3 M1 M4 B1 B3
        # --jobs auto: one worker per GPU; wall time of 4 short M1 runs,
        # beside one GPU at a time (untested on GPUs before this script).
        echo
        for jobs in 1 auto; do
            local start=$SECONDS
            "$atelier" --runs-dir "$out/jobs-$jobs" train --only M1 --seeds 4 --epochs 1 \
                --jobs "$jobs" >"$out/jobs-$jobs.log" 2>&1 || echo "--jobs $jobs failed: see jobs-$jobs.log"
            echo "--jobs $jobs: 4 × M1 (1 epoch) in $((SECONDS - start)) s"
        done
    } 2>&1 | tee "$out/cuda-check.txt"
}

case "${1:-}" in
    build) shift; build "$@" ;;
    run) run ;;
    *) echo "usage: bench/cuda-check.sh build TORCH_VERSION | run" >&2; exit 2 ;;
esac
