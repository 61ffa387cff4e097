"""Training speed with the app attached vs headless: the same run (M1, one
epoch on part of the training set) trained alternately by `atelier train`
and by the app in a 160×48 tmux pane, several times; prints each run's
epoch time and the medians.

    python3 bench/tui-overhead.py [--repeats 3] [--limit-train 24000]
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "release" / "atelier"


def epoch_seconds(runs, before):
    """The epoch time of the one run in `runs` that is not in `before`."""
    (new,) = [d for d in runs.iterdir() if d.is_dir() and d.name not in before]
    for line in (new / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["type"] == "epoch_end":
            return event["seconds"]
    raise SystemExit(f"{new}: no epoch ended")


def headless(runs, options):
    before = {d.name for d in runs.iterdir()}
    subprocess.run([BIN, "--runs-dir", runs, "train", *options], check=True, capture_output=True)
    return epoch_seconds(runs, before)


def with_app(runs, options):
    before = {d.name for d in runs.iterdir()}
    socket = f"atelier-overhead-{time.time_ns()}"
    command = " ".join([str(BIN), "--runs-dir", str(runs), *options])
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "app", "-x", "160", "-y", "48",
                    "env COLORTERM=truecolor " + command], check=True)
    try:
        time.sleep(2)
        subprocess.run(["tmux", "-L", socket, "send-keys", "-t", "app", "Enter"], check=True)
        while True:
            time.sleep(0.5)
            new = [d for d in runs.iterdir() if d.is_dir() and d.name not in before]
            if new and '"status": "done"' in (new[0] / "run.json").read_text():
                break
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], check=False)
    return epoch_seconds(runs, before)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit-train", default="24000")
    args = parser.parse_args()
    options = ["--only", "M1", "--epochs", "1", "--limit-train", args.limit_train, "--device", "cpu"]
    times = {"headless": [], "app": []}
    with tempfile.TemporaryDirectory() as scratch:
        runs = pathlib.Path(scratch)
        for repeat in range(args.repeats):
            times["headless"].append(headless(runs, options))
            times["app"].append(with_app(runs, options))
            print(f"repeat {repeat + 1}: headless {times['headless'][-1]:.2f}s, "
                  f"app {times['app'][-1]:.2f}s", flush=True)
    ratio = statistics.median(times["headless"]) / statistics.median(times["app"])
    print(f"M1 epoch on {args.limit_train} images: headless {statistics.median(times['headless']):.2f}s, "
          f"with the app {statistics.median(times['app']):.2f}s (medians of {args.repeats}); "
          f"app speed = {ratio:.1%} of headless")


if __name__ == "__main__":
    main()
