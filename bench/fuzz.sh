#!/usr/bin/env bash
# Coverage-guided fuzzing of the four readers (IDX, Kaggle CSV, plan TOML,
# events.jsonl) with cargo-fuzz and libFuzzer; needs a nightly toolchain and
# `cargo install cargo-fuzz`. Stable CI does not run this: it replays the
# committed corpus instead (tests/fuzz_corpus.rs).
#
#   bench/fuzz.sh              # 60 s per target, all four
#   bench/fuzz.sh 300 plan     # 300 s, the plan parser only
#
# New inputs go to target/fuzz/corpus/<target> (the committed seeds in
# fuzz/corpus/<target> are read, not written); a crashing input is saved as
# target/fuzz/artifacts/<target>/crash-* and named in the summary. Copy a
# crash into fuzz/corpus/<target>/ once it is fixed, so the stable test keeps
# it fixed. Each line of the summary: target, seconds, executions, crashes.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx csv plan events)
work="$here/target/fuzz"

# libtorch for the atelier crate, as the Makefile sets it up: LIBTORCH, else the
# CPU-only unpack, else the venv (VENV=... for another). The fuzz binaries lack
# atelier's rpath: give the loader the path.
cpu_libtorch=$(echo "$here"/.libtorch-*-cpu)
if [ -z "${LIBTORCH:-}" ] && [ -z "${VENV:-}" ] && [ -f "$cpu_libtorch/build-version" ]; then
    export LIBTORCH=$cpu_libtorch
fi
if [ -z "${LIBTORCH:-}" ]; then
    venv=${VENV:-$here/.venv}
    export PATH="$venv/bin:$PATH" LIBTORCH_USE_PYTORCH=1
    lib=$(echo "$venv"/lib/python3*/site-packages/torch/lib)
else
    unset LIBTORCH_USE_PYTORCH
    lib=$LIBTORCH/lib
fi
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

mkdir -p "$work"
cd "$here/fuzz"
# No sanitizer: the readers are safe Rust, and ASan would have to cover libtorch
# too. Debug assertions on, so integer overflow is a crash.
cargo +nightly fuzz build -s none -a --fuzz-dir . >"$work/build.log" 2>&1 || {
    cat "$work/build.log" >&2
    exit 1
}

summary=()
status=0
for target in "${targets[@]}"; do
    mkdir -p "$work/corpus/$target" "$work/artifacts/$target"
    log="$work/$target.log"
    # -max_len: the seed CSVs are ~6 KB; 64 KiB leaves room to grow them.
    # -rss_limit_mb: the allocation bound is checked here as a crash.
    cargo +nightly fuzz run -s none -a --fuzz-dir . "$target" \
        "$work/corpus/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=1024 -timeout=10 \
        -artifact_prefix="$work/artifacts/$target/" -print_final_stats=1 \
        >"$log" 2>&1
    code=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=$(find "$work/artifacts/$target" -type f | wc -l)
    summary+=("$(printf '%-7s %5ss %12s execs %3s crashes' "$target" "$seconds" "${runs:-?}" "$crashes")")
    if [ "$code" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        status=1
        grep -m1 -E 'panicked|ERROR: libFuzzer' "$log" >&2 || true
        find "$work/artifacts/$target" -type f >&2
    fi
done
printf '%s\n' "${summary[@]}"
exit $status
