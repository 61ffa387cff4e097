#!/usr/bin/env bash
# The same run trained three ways, one after another: headless `atelier
# train`, the app (in a 160x48 tmux pane, Enter on the first planned run),
# and `train --detach`; prints each one's epoch seconds from the run store.
#   bench/speed-modes.sh [ARGS...]   (default: --only M1 --epochs 4 --limit-train 16000)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/target/release/atelier
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--only M1 --epochs 4 --limit-train 16000)
runs=$(mktemp -d)
trap 'tmux kill-session -t atelier-modes 2>/dev/null || true; rm -rf "$runs"' EXIT
finished() { grep -q '"type":"finished"' "$1"/*/events.jsonl 2>/dev/null; }

"$bin" --runs-dir "$runs/train" train "${args[@]}" >/dev/null
tmux new-session -d -s atelier-modes -x 160 -y 48 "$bin --runs-dir $runs/app ${args[*]}"
sleep 3
tmux send-keys -t atelier-modes Enter
until finished "$runs/app"; do sleep 2; done
tmux send-keys -t atelier-modes q
"$bin" --runs-dir "$runs/detach" train --detach "${args[@]}" >/dev/null
until finished "$runs/detach"; do sleep 2; done
for mode in train app detach; do
  printf '%-7s' "$mode"
  grep -h '"type":"epoch_end"' "$runs/$mode"/*/events.jsonl |
    python3 -c 'import sys, json; print(" ".join("%.1f" % json.loads(line)["seconds"] for line in sys.stdin))'
done
