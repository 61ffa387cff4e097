"""Training throughput of the seed models in PyTorch eager, the way a
PyTorch user would write them: same layers as atelier, Glorot-uniform
weights, zero biases, Adam (lr 1e-3, eps 1e-7), batch 32, real images
shuffled each epoch; the epochs after the warm ones are timed.

    python torch_peer.py --threads 2 --data-dir DIR --images 16000 M1 M4

Prints one JSON object per model: {"peer", "model", "images_per_sec": [..],
"first_epoch_images_per_sec"}. PyTorch's default float mode (no flushing
of subnormals), as a user gets it.
"""

import time

import torch
from torch import nn

import models


def build(spec):
    layers = []
    dropout = spec.get("dropout", False)
    if spec["kind"] == "cnn":
        channels, side = 1, 28
        for width in spec["conv"]:
            layers += [nn.Conv2d(channels, width, 3), nn.ReLU(), nn.MaxPool2d(2)]
            if dropout:
                layers.append(nn.Dropout(models.DROPOUT_HIDDEN))
            channels, side = width, (side - 2) // 2
        layers += [nn.Flatten(), nn.Linear(channels * side * side, spec["dense"]), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(models.DROPOUT_LAST))
        layers.append(nn.Linear(spec["dense"], 10))
    else:
        inputs = 28 * 28
        layers.append(nn.Flatten())
        hidden = spec["hidden"]
        for index, width in enumerate(hidden):
            layers += [nn.Linear(inputs, width), nn.ReLU()]
            if dropout:
                last = index == len(hidden) - 1
                layers.append(nn.Dropout(models.DROPOUT_LAST if last else models.DROPOUT_HIDDEN))
            inputs = width
        layers.append(nn.Linear(inputs, 10))
    net = nn.Sequential(*layers)
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    return net


def measure(spec, images, labels, warm, timed):
    torch.manual_seed(0)
    net = build(spec).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=models.LEARNING_RATE, eps=models.EPSILON)
    loss_fn = nn.CrossEntropyLoss()
    images = torch.from_numpy(images).unsqueeze(1)
    labels = torch.from_numpy(labels)
    count = len(labels)
    rates = []
    for _ in range(warm + timed):
        started = time.perf_counter()
        order = torch.randperm(count)
        epoch_images, epoch_labels = images[order], labels[order]
        for offset in range(0, count, models.BATCH):
            x = epoch_images[offset : offset + models.BATCH]
            y = epoch_labels[offset : offset + models.BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), y)
            loss.backward()
            optimizer.step()
        loss.item()
        rates.append(count / (time.perf_counter() - started))
    return rates


def main():
    args = models.peer_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    images, labels = models.training_images(args.data_dir, args.images)
    for name, spec in models.pick(args.models):
        rates = measure(spec, images, labels, args.warm_epochs, args.timed_epochs)
        models.report("pytorch", name, rates[args.warm_epochs :], rates[0])


if __name__ == "__main__":
    main()
