"""Refit time at the defaults with the shipped coreset (``farthest_first``) against the plain greedy that measures
every row against each new centre (the coreset before 2026-12-04), in one run (docs/performance.md, "Refit").

    python benchmarks/refit_coreset.py [--goldens 1,4,8] [--category mvtec_ad/bottle]

Each count's refit runs with both coresets one after the other, so load from other processes hits both alike.
Prints wall and CPU seconds of ``fit_bank`` and their ratio, how many bank rows the two fits share, and their
thresholds. Threads: inspectd's policy (inspectd/threads.py), as ``inspectd refit`` uses.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

import inspectd.detector.fit as fit
from inspectd.detector.coreset import coreset_size, greedy_coreset, projected_rows
from inspectd.evaluation.dataset import load_category
from inspectd.images import read_rgb
from inspectd.threads import cooperate

DATA = Path(os.environ.get("INSPECTD_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


def plain_greedy(features: np.ndarray, target: float | int, seed: int, twins: np.ndarray | None = None) -> np.ndarray:
    """The former greedy_coreset: every row, twins included, measured against each new centre (the same projection
    and start)."""
    count, size = len(features), coreset_size(len(features), target)
    if size == count:
        return np.arange(count)
    rng = np.random.default_rng(seed)
    points = projected_rows(features, rng)
    norms = (points * points).sum(1)
    selected = np.empty(size, dtype=np.int64)
    selected[0] = rng.integers(count)
    nearest = torch.full((count,), float("inf"))
    for step in range(1, size):
        distance = norms - 2.0 * (points @ points[selected[step - 1]]) + norms[selected[step - 1]]
        torch.minimum(nearest, distance, out=nearest)
        selected[step] = int(torch.argmax(nearest))
    return selected


def timed_fit(goldens: list[np.ndarray], coreset) -> tuple[float, float, object]:
    fit.greedy_coreset = coreset
    cpu, wall = time.process_time(), time.perf_counter()
    bank = fit.fit_bank(goldens)
    return time.perf_counter() - wall, time.process_time() - cpu, bank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--goldens", default="1,4,8")
    parser.add_argument("--category", default="mvtec_ad/bottle")
    args = parser.parse_args()
    threads = cooperate()
    train = load_category(DATA / args.category).train_files
    fit.fit_bank([read_rgb(train[0])])  # warm-up: backbone load, first-call allocations
    print(f"{args.category}, defaults, {threads} thread(s); load average {os.getloadavg()[0]:.1f} at start")
    print(f"{'goldens':>7}{'plain s':>10}{'shipped s':>11}{'ratio':>8}{'plain CPU':>11}{'shipped CPU':>13}{'ratio':>8}"
          f"  banks")
    for count in (int(value) for value in args.goldens.split(",")):
        goldens = [read_rgb(path) for path in train[:count]]
        plain = timed_fit(goldens, plain_greedy)
        shipped = timed_fit(goldens, greedy_coreset)
        plain_rows = {row.tobytes() for row in plain[2].memory}
        common = sum(row.tobytes() in plain_rows for row in shipped[2].memory)
        same = (f"{common} of {len(shipped[2].memory)} rows in common, threshold {plain[2].threshold:.4f} / "
                f"{shipped[2].threshold:.4f}")
        print(f"{count:>7}{plain[0]:>10.2f}{shipped[0]:>11.2f}{plain[0] / shipped[0]:>7.1f}x{plain[1]:>11.2f}"
              f"{shipped[1]:>13.2f}{plain[1] / shipped[1]:>7.1f}x  {same}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
