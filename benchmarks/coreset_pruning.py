"""Greedy k-center coreset with triangle-inequality pruning against the shipped one (a probe, not adopted;
docs/performance.md, "Refit time at the defaults").

    OMP_NUM_THREADS=1 python benchmarks/coreset_pruning.py mvtec_ad/bottle mvtec_ad/screw

The shipped greedy_coreset reads every projected row at every step (41,600 x 128 float32 = 21 MB for
one golden's 26 copies at 320 px), so it is bound by memory bandwidth. Here the first 256 selected rows
become anchors and every row is grouped with its nearest anchor. After that, a step visits a group
only if the new centre could be closer than the group's farthest row's current distance, that is, if
(distance to the anchor - group radius)^2 is below that distance. Prints, for one golden's rows per
category: both times, whether the selections are identical, and the share of rows visited.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from inspectd.detector.backbone import get_backbone
from inspectd.detector.coreset import PROJECTION_DIM, coreset_size, greedy_coreset
from inspectd.detector.features import resize_to
from inspectd.detector.fit import golden_input_shape, image_featurizer
from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation.dataset import load_category
from inspectd.images import read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ANCHORS = 256


def projected_rows(features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same random projection as greedy_coreset draws for the same generator state."""
    projection = rng.standard_normal((features.shape[1], PROJECTION_DIM)) / np.sqrt(PROJECTION_DIM)
    return (torch.from_numpy(features) @ torch.from_numpy(projection.astype(np.float32))).numpy()


def pruned_coreset(features: np.ndarray, target: float, seed: int) -> tuple[np.ndarray, float]:
    """(selected row indices, share of rows visited after the anchor phase)."""
    count, size = len(features), coreset_size(len(features), target)
    rng = np.random.default_rng(seed)
    points = projected_rows(np.ascontiguousarray(features, dtype=np.float32), rng)
    norms = (points * points).sum(1)
    selected = np.empty(size, dtype=np.int64)
    selected[0] = rng.integers(count)
    nearest = np.full(count, np.inf, np.float32)
    owner = np.zeros(count, np.int64)
    for step in range(1, ANCHORS + 1):  # plain steps; the last one only updates, its pick comes below
        centre = selected[step - 1]
        distance = norms - 2.0 * (points @ points[centre]) + norms[centre]
        owner[distance < nearest] = step - 1
        np.minimum(nearest, distance, out=nearest)
        if step < ANCHORS:
            selected[step] = int(np.argmax(nearest))
    order = np.argsort(owner, kind="stable")
    sizes = np.bincount(owner, minlength=ANCHORS)
    filled = sizes > 0
    starts = np.r_[0, np.cumsum(sizes)[:-1]][filled]
    group_max = np.full(ANCHORS, -np.inf, np.float32)
    group_max[filled] = np.maximum.reduceat(nearest[order], starts)
    radius = np.sqrt(np.maximum(group_max, 0))
    anchors = points[selected[:ANCHORS]]
    anchor_norms = norms[selected[:ANCHORS]]
    group_of_sorted, slack = owner[order], 1e-5 * float(norms.max())
    visited = 0
    selected[ANCHORS] = int(np.argmax(nearest))
    for step in range(ANCHORS + 1, size):
        centre = selected[step - 1]
        to_anchor = np.sqrt(np.maximum(anchor_norms - 2.0 * (anchors @ points[centre]) + norms[centre], 0))
        bound = np.maximum(to_anchor - radius, 0)
        touched = (bound * bound < group_max * (1 + 1e-3) + slack) & filled
        rows = order[touched[group_of_sorted]]
        visited += len(rows)
        distance = norms[rows] - 2.0 * (points[rows] @ points[centre]) + norms[centre]
        nearest[rows] = np.minimum(nearest[rows], distance)
        if len(rows):
            group_max[touched] = np.maximum.reduceat(nearest[rows], np.r_[0, np.cumsum(sizes[touched])[:-1]])
        selected[step] = int(np.argmax(nearest))
    return selected, visited / max(1, (size - ANCHORS - 1) * count)


def main() -> None:
    settings = DetectorSettings()
    backbone = get_backbone(settings.backbone, settings.weights_path)
    for name in sys.argv[1:]:
        golden = read_rgb(load_category(DATA / name).train_files[0])
        frame = resize_to(golden, golden_input_shape([golden], settings))
        copies = image_featurizer([frame], settings, backbone)(0, settings.augmentations)
        rows = copies.reshape(-1, copies.shape[-1])
        started = time.perf_counter()
        shipped = greedy_coreset(rows, settings.coreset, 0)
        shipped_s = time.perf_counter() - started
        started = time.perf_counter()
        pruned, visited = pruned_coreset(rows, settings.coreset, 0)
        pruned_s = time.perf_counter() - started
        same = np.array_equal(shipped, pruned)
        first = -1 if same else int(np.argmax(shipped != pruned))
        print(f"{name}: {rows.shape[0]} rows -> {len(shipped)}; shipped {shipped_s:.2f} s, pruned {pruned_s:.2f} s "
              f"({shipped_s / pruned_s:.2f}x); identical {same} (first difference at pick {first}); "
              f"rows visited per step {visited:.3f}", flush=True)


if __name__ == "__main__":
    main()
