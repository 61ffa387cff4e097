"""The seed plan's models, read from assets/plans/seed.toml, for the peers."""

import argparse
import json
import pathlib
import tomllib

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
    """The command line every peer takes: --threads, --steps, --rounds, models."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("models", nargs="*")
    return parser.parse_args()


def report(peer, name, rates):
    """One result line, as compare.py reads it (and as `atelier bench --json` writes it)."""
    print(json.dumps({"peer": peer, "model": name, "images_per_sec": rates}), flush=True)
