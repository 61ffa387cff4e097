"""Epoch times beside the CPU time the hypervisor took (steal) during each epoch.

    python3 bench/epoch-steal.py [ATELIER_ARGS ...]
    e.g. python3 bench/epoch-steal.py --runs-dir /tmp/steal train --only M1

Runs `target/release/atelier ATELIER_ARGS`, stamps each "Epoch k/N - Ss"
line it prints, samples /proc/stat once a second meanwhile, and prints, per
epoch, its seconds and the share of the machine's CPU time that was stolen
(given to other guests), idle and used while it ran, and the CPU seconds the
machine spent working meanwhile (`cpu s`: seconds × busy share × cores). On
a virtual machine a slow epoch with high steal is the host's doing, not
atelier's: its `cpu s` stays what the other epochs cost.
"""

import os
import re
import subprocess
import sys
import threading
import time

FIELDS = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]


def cpu_times():
    with open("/proc/stat") as stat:
        values = stat.readline().split()[1:9]
    return dict(zip(FIELDS, map(int, values)))


def sample(samples, stop):
    while not stop.is_set():
        samples.append((time.monotonic(), cpu_times()))
        stop.wait(1.0)


def shares(samples, start, end):
    inside = [s for s in samples if start <= s[0] <= end]
    if len(inside) < 2:
        return None
    first, last = inside[0][1], inside[-1][1]
    delta = {k: last[k] - first[k] for k in FIELDS}
    total = sum(delta.values()) or 1
    busy = delta["user"] + delta["nice"] + delta["system"] + delta["irq"] + delta["softirq"]
    return {
        "steal": 100 * delta["steal"] / total,
        "idle": 100 * (delta["idle"] + delta["iowait"]) / total,
        "busy": 100 * busy / total,
    }


def main():
    command = ["target/release/atelier", *sys.argv[1:]]
    samples, stop = [], threading.Event()
    sampler = threading.Thread(target=sample, args=(samples, stop), daemon=True)
    sampler.start()
    epochs = []
    started = time.monotonic()
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        for line in child.stdout:
            sys.stdout.write(line)
            found = re.match(r"Epoch (\d+)/\d+ - (\d+)s", line)
            if found:
                now = time.monotonic()
                seconds = float(found.group(2))
                epochs.append((int(found.group(1)), seconds, now - seconds, now))
    stop.set()
    sampler.join()
    cores = os.cpu_count() or 1
    print(f"\n{'epoch':>5} {'seconds':>8} {'steal %':>8} {'idle %':>7} {'busy %':>7} {'cpu s':>6}")
    for epoch, seconds, start, end in epochs:
        share = shares(samples, start, end)
        if share is None:
            print(f"{epoch:>5} {seconds:>8.0f} {'-':>8} {'-':>7} {'-':>7} {'-':>6}")
        else:
            cpu = seconds * share["busy"] / 100 * cores
            print(
                f"{epoch:>5} {seconds:>8.0f} {share['steal']:>8.1f} {share['idle']:>7.1f} {share['busy']:>7.1f} {cpu:>6.1f}"
            )
    print(f"whole command: {time.monotonic() - started:.0f}s")
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
