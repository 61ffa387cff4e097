"""atelier against PyTorch eager and Keras 3 (TensorFlow CPU), back to back.

Each peer trains each model on the same real images (the first 16,000 of
the training file, 960 for the wide M3–M5), shuffled each epoch, for two
untimed epochs and a timed third: steady state from weights and optimizer
state that look like a real run's, not the first steps from fresh weights
(costs such as subnormal floats in Adam's moments only appear after
hundreds of steps). For each repeat, for each model, runs atelier, PyTorch
and Keras one after the other (alternating, so a machine's drift hits all
three alike), each in its own process with the same thread count, then
prints per model the median images/s of the timed epochs (min–max over
repeats), atelier's ratio to the faster peer, and each peer's first-epoch
median for comparison.

    python bench/peers/compare.py --repeats 3 --threads 2 [--also-fixed 2] [M1 M4 ...]

The peers get --threads (every core by default, as PyTorch and Keras
do); atelier gets no --threads, so each model trains on the count a real
run of it would choose (the table says which). --also-fixed N times
atelier a second time with --threads N, beside its default.

Needs: target/release/atelier (make build), the project venv's torch
(.venv), and a venv with tensorflow-cpu (.venv-keras); `make bench-peers`
sets all three up.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

import models

HERE = models.ROOT / "bench" / "peers"
# Heavy models take ~0.1–0.3 s a step on 2 cores: fewer images keep the bench short.
WIDE = {"M3", "M4", "M5"}
PEERS = ("atelier", "pytorch", "keras")


def data_dir(atelier):
    """Where atelier finds the dataset: the peers read the same files."""
    found = subprocess.run([atelier, "data", "where", "--folder"], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        sys.exit(f"atelier finds no dataset:\n{found.stderr}")
    return found.stdout.strip()


def run(command):
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--also-fixed", type=int, default=None)
    parser.add_argument("--atelier", default=str(models.ROOT / "target" / "release" / "atelier"))
    parser.add_argument("--torch-python", default=str(models.ROOT / ".venv" / "bin" / "python3"))
    parser.add_argument("--keras-python", default=str(models.ROOT / ".venv-keras" / "bin" / "python3"))
    parser.add_argument("models", nargs="*")
    args = parser.parse_args()
    chosen = [name for name, _ in models.pick(args.models)]
    folder = data_dir(args.atelier)
    peers = PEERS + (("fixed",) if args.also_fixed else ())
    rates = {(peer, name): [] for name in chosen for peer in peers}
    firsts = {(peer, name): [] for name in chosen for peer in peers}
    atelier_threads = {}
    for repeat in range(args.repeats):
        for name in chosen:
            images = "960" if name in WIDE else "16000"
            budget = ["--images", images, "--warm-epochs", "2", "--timed-epochs", "1", name]
            common = ["--threads", str(args.threads), *budget]
            atelier = [args.atelier, "--data-dir", folder, "bench", "--json"]
            commands = {
                "atelier": [*atelier, *budget],
                "pytorch": [args.torch_python, str(HERE / "torch_peer.py"), "--data-dir", folder, *common],
                "keras": [args.keras_python, str(HERE / "keras_peer.py"), "--data-dir", folder, *common],
            }
            if args.also_fixed:
                commands["fixed"] = [*atelier, "--threads", str(args.also_fixed), *budget]
            for peer, command in commands.items():
                for record in run(command):
                    rates[(peer, record["model"])] += record["images_per_sec"]
                    firsts[(peer, record["model"])].append(record["first_epoch_images_per_sec"])
                    if peer == "atelier":
                        atelier_threads.setdefault(record["model"], set()).add(record["threads"])
            print(f"repeat {repeat + 1}/{args.repeats}: {name} done", file=sys.stderr, flush=True)

    def cell(table, peer, name):
        values = sorted(table[(peer, name)])
        return statistics.median(values), values[0], values[-1]

    print(f"training throughput, images/s, batch 32, CPU, peers on {args.threads} threads, atelier on the "
          f"threads a run chooses (its column 'thr'), real images, epoch 3 after two untimed epochs "
          f"(16,000 images an epoch; 960 for M3–M5), median (min–max) of {args.repeats} repeats")
    fixed_head = f"{f'atelier --threads {args.also_fixed}':>26}" if args.also_fixed else ""
    print(f"{'model':<6}{'atelier':>22}{'thr':>4}{fixed_head}{'PyTorch':>22}{'Keras':>22}{'ratio':>8}"
          f"   epoch 1: atelier / PyTorch / Keras")
    for name in chosen:
        cells = {peer: cell(rates, peer, name) for peer in peers}
        text = {peer: f"{m:,.0f} ({lo:,.0f}–{hi:,.0f})" for peer, (m, lo, hi) in cells.items()}
        faster = max(cells["pytorch"][0], cells["keras"][0])
        ratio = cells["atelier"][0] / faster
        first = " / ".join(f"{cell(firsts, peer, name)[0]:,.0f}" for peer in PEERS)
        threads = "/".join(str(t) for t in sorted(atelier_threads.get(name, ())))
        fixed = f"{text['fixed']:>26}" if args.also_fixed else ""
        print(f"{name:<6}{text['atelier']:>22}{threads:>4}{fixed}{text['pytorch']:>22}{text['keras']:>22}"
              f"{ratio:>8.2f}   {first}")


if __name__ == "__main__":
    main()
