#!/usr/bin/env python3
"""Writes the hand-made seed corpus under fuzz/corpus/<target>/ (run once from
fuzz/; the files are committed). Fuzzer finds are added next to these by
bench/fuzz.sh with libFuzzer's names, and kept when they found something."""
import gzip, json, os, struct

def put(target, name, data):
    os.makedirs(f"corpus/{target}", exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(f"corpus/{target}/{name}", "wb") as f:
        f.write(data)

def header(*words):
    return b"".join(struct.pack(">I", w) for w in words)

gz = lambda b: gzip.compress(b, mtime=0)
# IDX: valid images and labels, raw and gzip, and headers that lie.
img1 = header(0x803, 1, 28, 28) + bytes(i % 251 for i in range(784))
lab3 = header(0x801, 3) + bytes([9, 0, 3])
put("idx", "images-1.raw", img1)
put("idx", "images-1.gz", gz(img1))
put("idx", "labels-3.raw", lab3)
put("idx", "labels-3.gz", gz(lab3))
put("idx", "images-0.raw", header(0x803, 0, 28, 28))
put("idx", "labels-0.raw", header(0x801, 0))
put("idx", "images-huge-count.raw", header(0x803, 0xFFFFFFFF, 28, 28))
put("idx", "images-huge-sides.raw", header(0x803, 1, 0xFFFFFFFF, 0xFFFFFFFF))
put("idx", "labels-huge-count.gz", gz(header(0x801, 0xFFFFFFFF) + bytes(64)))
put("idx", "images-two-members.gz", gz(img1[:16]) + gz(img1[16:]))
put("idx", "images-32x32.raw", header(0x803, 1, 32, 32) + bytes(1024))
put("idx", "labels-bad-class.raw", header(0x801, 2) + bytes([1, 200]))

# Kaggle CSV: header plus rows of 785 columns.
head = "label," + ",".join(f"pixel{i}" for i in range(1, 785)) + "\n"
row = lambda label, base: f"{label}," + ",".join(str((base + i) % 256) for i in range(784)) + "\n"
put("csv", "two-rows.csv", head + row(9, 0) + row(0, 16))
put("csv", "one-row-crlf.csv", (head + row(4, 7)).replace("\n", "\r\n"))
put("csv", "quoted.csv", head + '"1",' + ",".join(f'" {i % 256}"' for i in range(784)) + "\n")
put("csv", "header-only.csv", head)
put("csv", "short-row.csv", head + "1,2,3\n")
put("csv", "label-out-of-range.csv", head + row(12, 3))

# Plans: the shipped ones plus the small forms the parser's tests use.
for name in os.listdir("../assets/plans"):
    if name.endswith(".toml"):
        put("plan", name, open(f"../assets/plans/{name}", "rb").read())
one = '[[run]]\nname = "A"\nmodel = { kind = "mlp", hidden = [8] }\n'
put("plan", "one-run.toml", one)
put("plan", "defaults.toml", '[defaults]\nepochs = 3\ndevice = "cpu"\nprecision = "bf16"\nlimit_train = 100\n' + one + "epochs = 7\n")
put("plan", "cnn-three-conv.toml", '[[run]]\nname = "C"\nlabel = "x"\nmodel = { kind = "cnn", conv = [8, 8, 8], dense = 4, dropout = true }\nreference = { test_accuracy = 0.9, test_loss = 0.3 }\nlearning_rate = 0.01\nvalidation_split = 0.5\nseed = 1\nbatch_size = 64\ndevice = "cuda:0"\n')
put("plan", "wide.toml", '[[run]]\nname = "W"\nmodel = { kind = "mlp", hidden = [9223372036854775807] }\n')

# events.jsonl: one line of every event type, as the trainer writes them.
run = "20261129-044056-M2"
spec = {"name": "M2", "label": "CNN [64,32,16] + dropout", "model": {"kind": "cnn", "conv": [64], "dense": 16, "dropout": True},
        "epochs": 2, "batch_size": 32, "learning_rate": 0.001, "seed": 42, "validation_split": 0.2, "device": "auto",
        "reference": {"test_accuracy": 0.8952, "test_loss": 0.3385}}
confusion = [[18 if c == r else 2 if c == (r + 1) % 10 else 0 for c in range(10)] for r in range(10)]
events = [
    {"type": "queued", "run": run, "spec": spec},
    {"type": "phase", "run": run, "phase": "loading_data"},
    {"type": "started", "run": run, "device": "cpu", "params": 173882, "train_samples": 800, "validation_samples": 200, "steps_per_epoch": 10, "epochs": 2},
    {"type": "progress", "run": run, "epoch": 1, "step": 1, "steps": 10, "loss": 2.31, "accuracy": 0.0625, "recent_loss": 2.31, "recent_accuracy": 0.0625, "samples_per_sec": 74.2, "elapsed_secs": 0.43},
    {"type": "paused", "run": run},
    {"type": "resumed", "run": run},
    {"type": "epoch_end", "run": run, "epoch": 1, "epochs": 2, "train_loss": 1.43, "train_accuracy": 0.44, "val_loss": 0.66, "val_accuracy": 0.79, "seconds": 53.3},
    {"type": "evaluated", "run": run, "test_loss": 0.42, "test_accuracy": 0.87, "confusion": confusion},
    {"type": "finished", "run": run, "seconds": 433.8, "best_val_accuracy": 0.88, "best_epoch": 1},
]
lines = [json.dumps(e, separators=(",", ":")) for e in events]
put("events", "full-run.jsonl", "\n".join(lines) + "\n")
put("events", "torn-tail.jsonl", lines[2] + "\n" + lines[3][:40])
put("events", "bad-middle.jsonl", lines[2] + "\n{not json\n\xff\n" + lines[6] + "\n")
put("events", "cancelled.jsonl", lines[2] + "\n" + json.dumps({"type": "cancelled", "run": run, "epochs_done": 0}) + "\n")
put("events", "failed.jsonl", json.dumps({"type": "failed", "run": run, "message": "out of memory"}) + "\n\n  \n")
put("events", "blank-lines.jsonl", "\n" * 64)
