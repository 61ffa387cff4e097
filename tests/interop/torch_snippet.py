"""Loads an atelier run's seed-model weights (a CNN or an MLP) into the
equivalent torch.nn.Sequential, runs it on the test images and compares
with the run's stored predictions (JSON on stdout, for
tests/it/interop_onnx.rs). The first half is the README's snippet.

    python torch_snippet.py RUN_DIR DATA_DIR
"""

import json

import torch
from safetensors.torch import load_file


def sequential(model):
    """The network atelier builds for a "cnn" or "mlp" spec (run.json's spec.model)."""
    layers, channels, side = [], 1, 28
    for width in model.get("conv", []):  # Conv 3×3 valid → ReLU → MaxPool 2×2
        layers += [torch.nn.Conv2d(channels, width, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        channels, side = width, (side - 2) // 2
    widths = [model["dense"]] if model["kind"] == "cnn" else model["hidden"]
    inputs = channels * side * side
    layers.append(torch.nn.Flatten())
    for width in widths:  # dropout only acts in training: left out
        layers += [torch.nn.Linear(inputs, width), torch.nn.ReLU()]
        inputs = width
    layers.append(torch.nn.Linear(inputs, 10))
    return torch.nn.Sequential(*layers)


def load(run_dir, weights="final"):
    """A run's network with its final (or best) weights, ready for inference."""
    model = json.load(open(f"{run_dir}/run.json"))["spec"]["model"]
    net = sequential(model)
    stored = load_file(f"{run_dir}/{weights}.safetensors")
    dense = 1 if model["kind"] == "cnn" else len(model["hidden"])
    names = [f"conv{i}" for i in range(len(model.get("conv", [])))]
    names += [f"dense{i}" for i in range(dense)] + ["output"]
    layers = [m for m in net if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    for name, layer in zip(names, layers, strict=True):
        layer.weight.data.copy_(stored[f"{name}.weight"])  # [out, in], as in PyTorch
        layer.bias.data.copy_(stored[f"{name}.bias"])
    return net.eval()


# images: float32 N×1×28×28 in [0, 1] (pixel / 255)
#   probabilities = load("RUN_DIR")(images).softmax(dim=1)


def main(run_dir, data_dir):
    import gzip
    from pathlib import Path

    import numpy as np
    from safetensors.numpy import load_file as load_numpy

    path = next(p for p in Path(data_dir).glob("t10k-images-idx3-ubyte*"))
    raw = path.read_bytes()
    raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    count = int.from_bytes(raw[4:8], "big")
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, 1, 28, 28)
    images = torch.from_numpy(pixels.astype(np.float32) / 255.0)
    with torch.no_grad():
        probabilities = load(run_dir)(images).softmax(dim=1).numpy()
    stored = load_numpy(f"{run_dir}/predictions.safetensors")
    mismatched = np.nonzero(probabilities.argmax(axis=1) != stored["predicted"])[0]
    quantization = np.abs(probabilities * 255.0 - stored["probabilities"].astype(np.float64))
    print(json.dumps({"images": int(count), "mismatches": [int(i) for i in mismatched],
                      "max_quantization_error": float(quantization.max())}))


if __name__ == "__main__":
    import sys

    main(sys.argv[1], sys.argv[2])
