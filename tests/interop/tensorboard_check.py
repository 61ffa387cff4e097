"""Reads a run folder written by `atelier export --tensorboard` with
TensorBoard's own reader, and prints what it found as JSON for
tests/it/interop_tensorboard.rs to compare with the run store.

    python tensorboard_check.py RUN_FOLDER
"""

import json
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import plugin_data_pb2


def main(folder):
    # 0 = keep every point: the default samples scalars down to 10,000.
    accumulator = event_accumulator.EventAccumulator(
        folder,
        size_guidance={
            event_accumulator.SCALARS: 0,
            event_accumulator.IMAGES: 0,
            event_accumulator.TENSORS: 0,
        },
    )
    accumulator.Reload()
    tags = accumulator.Tags()
    scalars = {
        tag: [[event.step, event.value, event.wall_time] for event in accumulator.Scalars(tag)]
        for tag in tags["scalars"]
    }
    images = {
        tag: [
            {
                "step": image.step,
                "width": image.width,
                "height": image.height,
                "png": image.encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n",
            }
            for image in accumulator.Images(tag)
        ]
        for tag in tags["images"]
    }
    hparams = {}
    for tag, content in accumulator.PluginTagToContent("hparams").items():
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        kind = data.WhichOneof("data")
        if kind == "session_start_info":
            start = data.session_start_info
            hparams["start"] = {
                "tag": tag,
                "group_name": start.group_name,
                "hparams": {
                    name: (value.number_value if value.WhichOneof("kind") == "number_value" else value.string_value)
                    for name, value in start.hparams.items()
                },
            }
        elif kind == "session_end_info":
            hparams["end"] = {"tag": tag, "status": data.session_end_info.status}
    print(json.dumps({"scalars": scalars, "images": images, "hparams": hparams}))


if __name__ == "__main__":
    main(sys.argv[1])
