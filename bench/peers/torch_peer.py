"""Training throughput of the seed models in PyTorch eager, the way a
PyTorch user would write them: same layers as atelier, Glorot-uniform
weights, zero biases, Adam (lr 1e-3, eps 1e-7), batch 32, synthetic data.

    python torch_peer.py --threads 2 --steps 100 --rounds 1 M1 M4

Prints one JSON object per model: {"peer", "model", "images_per_sec": [..]}.
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


def measure(spec, steps, rounds):
    torch.manual_seed(0)
    net = build(spec).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=models.LEARNING_RATE, eps=models.EPSILON)
    loss_fn = nn.CrossEntropyLoss()
    images = torch.rand(models.BATCH * 8, 1, 28, 28)
    labels = torch.randint(10, (models.BATCH * 8,))

    def step(index):
        offset = (index % 8) * models.BATCH
        x = images[offset : offset + models.BATCH]
        y = labels[offset : offset + models.BATCH]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        optimizer.step()
        return loss

    for index in range(10):
        step(index)
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for index in range(steps):
            loss = step(index)
        loss.item()
        rates.append(steps * models.BATCH / (time.perf_counter() - started))
    return rates


def main():
    args = models.peer_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    for name, spec in models.pick(args.models):
        models.report("pytorch", name, measure(spec, args.steps, args.rounds))


if __name__ == "__main__":
    main()
