"""Runs a model written by `atelier export --onnx` in ONNX Runtime on the
test images and compares it with the run's stored predictions; prints
JSON for tests/it/interop_onnx.rs.

    python onnx_check.py MODEL.onnx DATA_DIR RUN_DIR

DATA_DIR holds t10k-images-idx3-ubyte[.gz]; RUN_DIR the run's
predictions.safetensors (labels, predicted, probabilities as round(p * 255)).
"""

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime
from safetensors.numpy import load_file


def test_images(data_dir):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"):
        path = Path(data_dir) / name
        if path.exists():
            raw = path.read_bytes()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            count = int.from_bytes(raw[4:8], "big")
            pixels = np.frombuffer(raw, dtype=np.uint8, offset=16)
            return pixels.reshape(count, 1, 28, 28).astype(np.float32) / 255.0
    sys.exit(f"no test images in {data_dir}")


def main(model, data_dir, run_dir):
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    (input_meta,) = session.get_inputs()
    (output_meta,) = session.get_outputs()
    images = test_images(data_dir)
    outputs = np.concatenate(
        [session.run(None, {input_meta.name: images[i : i + 500]})[0] for i in range(0, len(images), 500)]
    )
    if output_meta.name == "logits":
        shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    else:
        probabilities = outputs
    stored = load_file(str(Path(run_dir) / "predictions.safetensors"))
    predicted = probabilities.argmax(axis=1)
    mismatched = np.nonzero(predicted != stored["predicted"])[0]
    top2 = np.sort(probabilities, axis=1)[:, -2:]
    quantization = np.abs(probabilities * 255.0 - stored["probabilities"].astype(np.float64))
    print(
        json.dumps(
            {
                "input": [input_meta.name, [str(d) for d in input_meta.shape]],
                "output": [output_meta.name, [str(d) for d in output_meta.shape]],
                "images": int(len(images)),
                "mismatches": [int(i) for i in mismatched],
                "mismatch_margins": [float(top2[i, 1] - top2[i, 0]) for i in mismatched],
                "max_quantization_error": float(quantization.max()),
                "first_outputs": outputs[:32].astype(np.float64).tolist(),
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
