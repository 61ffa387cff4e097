#!/usr/bin/env bash
# What a remote source costs: the bytes per second `atelier stream` sends
# (what crosses the network to `atelier watch HOST:PATH`, before ssh's own
# framing) and the CPU the stream takes on the remote host, while runs train.
#
#   bench/stream-cost.sh RUNS_DIR [SECONDS]
#
# Start a training first (e.g. `atelier --runs-dir RUNS_DIR train --detach --only M1`).
# The viewer's first look (every stored run) is left out: it is counted
# separately, as what a connection costs once.
set -euo pipefail
runs=${1:?usage: $0 RUNS_DIR [SECONDS]}
seconds=${2:-60}
bin=${ATELIER:-target/release/atelier}
out=$(mktemp)
trap 'kill "$feeder" 2>/dev/null; rm -f "$out"' EXIT
# The viewer's resume line, then an open input for as long as the stream runs.
{ echo '{"type":"resume","offsets":{}}'; sleep $((seconds + 10)); } |
  "$bin" --runs-dir "$runs" stream > "$out" &
feeder=$!
sleep 2
stream=$(pgrep -n -f -- "--runs-dir $runs stream")
ticks=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$stream/stat"; }
start_bytes=$(wc -c < "$out")
start_cpu=$(cpu)
running=$(grep -c '"status":"running"' "$out" || true)
sleep "$seconds"
bytes=$(( $(wc -c < "$out") - start_bytes ))
cpu_ms=$(( ($(cpu) - start_cpu) * 1000 / ticks ))
echo "first look: $start_bytes bytes (every stored run and its log)"
echo "then: $bytes bytes in ${seconds}s = $((bytes / seconds)) bytes/s with $running run(s) running at the start"
echo "stream CPU: ${cpu_ms} ms in ${seconds}s = $(awk "BEGIN { printf \"%.2f\", $cpu_ms / ($seconds * 10) }")% of one core"
