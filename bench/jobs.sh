#!/usr/bin/env bash
# `train --jobs 2` beside `--jobs 1` on this machine: the same short sweep
# (M1 and the MLP × 3 seeds), one worker with every thread against two
# workers with half the threads each, alternating, wall time of the whole
# sweep. Prints each pass and the ratio of the medians (jobs 1 / jobs 2:
# above 1 means two at once is faster). Compare only figures from one run:
# this machine is shared and noisy.
#   bash bench/jobs.sh [REPEATS] [LIMIT_TRAIN] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-2}
limit=${2:-12000}
epochs=${3:-2}
bin=${ATELIER:-target/release/atelier}
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/plan.toml" <<PLAN
# bench/jobs.sh: a short sweep of two models × 3 seeds.
[defaults]
epochs = $epochs
limit_train = $limit
device = "cpu"

[[sweep]]
name = "jobs"
model = { kind = "cnn", conv = [64], dense = 16 }
seeds = 3

[[sweep]]
name = "jobs-mlp"
model = { kind = "mlp", hidden = [256, 128], dropout = true }
seeds = 3
PLAN
echo "bench/jobs.sh: M1 + MLP × 3 seeds, $epochs epoch(s) of $limit images, $cores cores, $repeats repeat(s)"
one=()
two=()
pass() { # jobs threads → seconds
  local runs="$work/runs-$1-$RANDOM"
  local start end
  start=$(date +%s.%N)
  if [ "$1" = 1 ]; then
    "$bin" --runs-dir "$runs" train --plan "$work/plan.toml" --threads "$2" >"$work/log" 2>&1
  else
    "$bin" --runs-dir "$runs" train --plan "$work/plan.toml" --jobs "$1" --threads "$2" >"$work/log" 2>&1
  fi || { echo "a pass failed; its log:" >&2; tail -n 30 "$work/log" >&2; exit 1; }
  end=$(date +%s.%N)
  rm -rf "$runs"
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}
for i in $(seq "$repeats"); do
  a=$(pass 1 "$cores")
  b=$(pass 2 $(( cores / 2 > 0 ? cores / 2 : 1 )))
  one+=("$a")
  two+=("$b")
  printf 'pass %d: --jobs 1 (%d threads) %6.1f s   --jobs 2 (%d thread(s) each) %6.1f s\n' \
    "$i" "$cores" "$a" $(( cores / 2 > 0 ? cores / 2 : 1 )) "$b"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m1=$(median "${one[@]}")
m2=$(median "${two[@]}")
printf 'median: --jobs 1 %.1f s, --jobs 2 %.1f s; ratio %.2f (jobs 1 / jobs 2)\n' "$m1" "$m2" "$(awk -v a="$m1" -v b="$m2" 'BEGIN { print a / b }')"
