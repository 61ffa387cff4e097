#!/usr/bin/env bash
# Bytes per second that `atelier watch` sends to its terminal while a run
# trains: what an SSH connection carries. Runs the viewer in a 160×48 tmux
# pane and records everything written to the pane for SECONDS.
#
#   bench/watch-bandwidth.sh RUNS_DIR [SECONDS] [RUN]
#
# Start a training first (e.g. `atelier --runs-dir RUNS_DIR train --detach --only M1`).
set -euo pipefail
runs=${1:?usage: $0 RUNS_DIR [SECONDS] [RUN]}
seconds=${2:-60}
run=${3:-}
bin=${ATELIER:-target/release/atelier}
socket=atelier-bandwidth-$$
out=$(mktemp)
trap 'tmux -L "$socket" kill-server 2>/dev/null; rm -f "$out"' EXIT
tmux -L "$socket" new-session -d -s watch -x 160 -y 48 \
  "env COLORTERM=truecolor $bin --runs-dir '$runs' watch $run"
sleep 3 # the first full draw is not what a long session costs
tmux -L "$socket" pipe-pane -o -t watch "cat > '$out'"
sleep "$seconds"
tmux -L "$socket" pipe-pane -t watch
bytes=$(wc -c < "$out")
echo "atelier watch at 160x48: $bytes bytes in ${seconds}s = $((bytes / seconds)) bytes/s"
