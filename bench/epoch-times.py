"""Epoch seconds of stored runs, and whether they drift over the run.

    python3 bench/epoch-times.py RUNS_DIR [RUNS_DIR ...]

For each run (from its events.jsonl): every epoch's seconds as logged (a
repeated epoch, after a resume, counts once: the later row), the slowest
epoch after the second over the second, and the median of epochs 2-5
beside the median of the last five: a slowdown that builds up over the run
shows as the second above the first, while one noisy epoch does not.
"""

import glob
import json
import os
import statistics
import sys


def epochs(events):
    name, test, seconds = None, None, {}
    with open(events) as log:
        for line in log:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind = event.get("type")
            if kind == "queued":
                name = event["spec"]["name"]
            elif kind == "epoch_end":
                seconds[event["epoch"]] = event["seconds"]
            elif kind == "evaluated":
                test = event["test_accuracy"]
    return name, test, [seconds[epoch] for epoch in sorted(seconds)]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print(f"{'run':<5} {'epoch seconds':<76} {'max/2nd':>7} {'2-5':>6} {'last 5':>6}  test")
    for folder in sys.argv[1:]:
        for events in sorted(glob.glob(os.path.join(folder, "*", "events.jsonl"))):
            name, test, seconds = epochs(events)
            if len(seconds) < 2:
                continue
            later = seconds[2:] or seconds[1:2]
            row = " ".join(f"{s:.1f}" for s in seconds)
            test = f"{test:.4f}" if test is not None else "-"
            print(f"{name or '?':<5} {row:<76} {max(later) / seconds[1]:>7.2f} "
                  f"{statistics.median(seconds[1:5]):>6.1f} {statistics.median(seconds[-5:]):>6.1f}  {test}")


if __name__ == "__main__":
    main()
