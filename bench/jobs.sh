#!/usr/bin/env bash
# A short sweep (M1 and the MLP × 3 seeds) three ways, alternating, wall
# time of the whole sweep: atelier's default (it times the models and
# picks how many train at once and on how many threads), `--jobs 1` (one
# at a time, each run choosing its threads), and `--jobs 1 --threads N`
# with N every core (the default before atelier chose). Prints each pass
# and the medians' ratios (above 1: the default is faster). Compare only
# figures from one run: this machine is shared and noisy.
#   bash bench/jobs.sh [REPEATS] [LIMIT_TRAIN] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-2}
limit=${2:-12000}
epochs=${3:-4}
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
echo "bench/jobs.sh: M1 + MLP × 3 seeds, $epochs epoch(s) of $limit images, $cores cores, $repeats repeat(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
default=()
one=()
old=()
pass() { # extra flags… → seconds
  local runs="$work/runs-$RANDOM"
  local start end
  start=$(date +%s.%N)
  "$bin" --runs-dir "$runs" train --plan "$work/plan.toml" "$@" >"$work/log" 2>&1 \
    || { echo "a pass failed; its log:" >&2; tail -n 30 "$work/log" >&2; exit 1; }
  end=$(date +%s.%N)
  grep -m1 "at once" "$work/log" >&2 || true
  rm -rf "$runs"
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}
for i in $(seq "$repeats"); do
  a=$(pass)
  b=$(pass --jobs 1)
  c=$(pass --jobs 1 --threads "$cores")
  default+=("$a")
  one+=("$b")
  old+=("$c")
  printf 'pass %d: default %6.1f s   --jobs 1 %6.1f s   --jobs 1 --threads %d %6.1f s\n' "$i" "$a" "$b" "$cores" "$c"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m0=$(median "${default[@]}")
m1=$(median "${one[@]}")
m2=$(median "${old[@]}")
printf 'median: default %.1f s, --jobs 1 %.1f s, --jobs 1 --threads %d %.1f s; --jobs 1 / default %.2f, --jobs 1 --threads %d / default %.2f\n' \
  "$m0" "$m1" "$cores" "$m2" "$(awk -v a="$m1" -v b="$m0" 'BEGIN { print a / b }')" "$cores" "$(awk -v a="$m2" -v b="$m0" 'BEGIN { print a / b }')"
