"""atelier against PyTorch eager and Keras 3 (TensorFlow CPU), back to back.

For each repeat, for each model, runs atelier, PyTorch and Keras one after
the other (alternating, so a machine's drift hits all three alike), each in
its own process with the same thread count, then prints per model the
median images/s (min–max over repeats) and atelier's ratio to the faster
peer.

    python bench/peers/compare.py --repeats 3 --threads 2 [M1 M4 ...]

Needs: target/release/atelier (make build), the project venv's torch
(.venv), and a venv with tensorflow-cpu (.venv-keras); `make bench-peers`
sets all three up.
"""

import argparse
import json
import statistics
import subprocess
import sys

import models

HERE = models.ROOT / "bench" / "peers"
# Heavy models take ~0.1–0.3 s a step on 2 cores: fewer steps keep the bench short.
WIDE = {"M3", "M4", "M5"}


def run(command):
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--atelier", default=str(models.ROOT / "target" / "release" / "atelier"))
    parser.add_argument("--torch-python", default=str(models.ROOT / ".venv" / "bin" / "python3"))
    parser.add_argument("--keras-python", default=str(models.ROOT / ".venv-keras" / "bin" / "python3"))
    parser.add_argument("models", nargs="*")
    args = parser.parse_args()
    chosen = [name for name, _ in models.pick(args.models)]
    rates = {(peer, name): [] for name in chosen for peer in ("atelier", "pytorch", "keras")}
    for repeat in range(args.repeats):
        for name in chosen:
            steps = "12" if name in WIDE else "150"
            common = ["--threads", str(args.threads), "--steps", steps, "--rounds", "1", name]
            commands = {
                "atelier": [args.atelier, "bench", "--json", *common],
                "pytorch": [args.torch_python, str(HERE / "torch_peer.py"), *common],
                "keras": [args.keras_python, str(HERE / "keras_peer.py"), *common],
            }
            for peer, command in commands.items():
                for record in run(command):
                    rates[(peer, record["model"])] += record["images_per_sec"]
            print(f"repeat {repeat + 1}/{args.repeats}: {name} done", file=sys.stderr, flush=True)

    def cell(peer, name):
        values = sorted(rates[(peer, name)])
        return statistics.median(values), values[0], values[-1]

    print(f"training throughput, images/s, batch 32, CPU, {args.threads} threads, "
          f"median (min–max) of {args.repeats} repeats")
    print(f"{'model':<6}{'atelier':>22}{'PyTorch':>22}{'Keras':>22}{'ratio':>8}")
    for name in chosen:
        cells = {peer: cell(peer, name) for peer in ("atelier", "pytorch", "keras")}
        text = {peer: f"{m:,.0f} ({lo:,.0f}–{hi:,.0f})" for peer, (m, lo, hi) in cells.items()}
        faster = max(cells["pytorch"][0], cells["keras"][0])
        ratio = cells["atelier"][0] / faster
        print(f"{name:<6}{text['atelier']:>22}{text['pytorch']:>22}{text['keras']:>22}{ratio:>8.2f}")


if __name__ == "__main__":
    main()
