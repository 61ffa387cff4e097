"""The seed plan's models, read from assets/plans/seed.toml, for the peers."""

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
