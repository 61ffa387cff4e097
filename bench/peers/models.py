"""The seed plan's models, read from assets/plans/seed.toml, for the peers."""

import argparse
import gzip
import json
import pathlib
import tomllib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]


def seed_models():
    """[(name, spec)] in plan order; spec as in the TOML (kind, conv, dense, hidden, dropout)."""
    plan = tomllib.loads((ROOT / "assets" / "plans" / "seed.toml").read_text())
    return [(run["name"], run["model"]) for run in plan["run"]]


def pick(names):
    """The seed models named in `names` (all when empty), case-insensitively."""
    wanted = {name.lower() for name in names}
    return [(n, m) for n, m in seed_models() if not wanted or n.lower() in wanted]


# The original's dropout rates (atelier: src/model/spec.rs).
DROPOUT_HIDDEN = 0.25
DROPOUT_LAST = 0.5
BATCH = 32
LEARNING_RATE = 1e-3
EPSILON = 1e-7


def peer_args():
    """The command line every peer takes, as `atelier bench` does: --threads,
    --data-dir (the IDX files), --images, --warm-epochs, --timed-epochs, models."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", type=pathlib.Path, required=True)
    parser.add_argument("--images", type=int, default=16000)
    parser.add_argument("--warm-epochs", type=int, default=2)
    parser.add_argument("--timed-epochs", type=int, default=1)
    parser.add_argument("models", nargs="*")
    return parser.parse_args()


def _idx(folder, stem):
    """The bytes of one IDX file, gzip-compressed or raw."""
    for name, opener in ((stem + ".gz", gzip.open), (stem, open)):
        path = folder / name
        if path.exists():
            with opener(path, "rb") as handle:
                return handle.read()
    raise SystemExit(f"{folder}: neither {stem}.gz nor {stem} is there")


def training_images(folder, count):
    """The first `count` training images (float32 in [0, 1], N×28×28) and
    labels (int64): atelier's training split starts at the file's start."""
    images = np.frombuffer(_idx(folder, "train-images-idx3-ubyte"), np.uint8, offset=16)
    labels = np.frombuffer(_idx(folder, "train-labels-idx1-ubyte"), np.uint8, offset=8)
    images = images.reshape(-1, 28, 28)[:count].astype(np.float32) / 255.0
    return images, labels[:count].astype(np.int64)


def report(peer, name, rates, first=None):
    """One result line, as compare.py reads it (and as `atelier bench --json` writes it)."""
    record = {"peer": peer, "model": name, "images_per_sec": rates}
    if first is not None:
        record["first_epoch_images_per_sec"] = first
    print(json.dumps(record), flush=True)
