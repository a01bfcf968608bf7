"""Greedy k-center coreset on a random projection (PatchCore; METHOD.md section 2)."""

from __future__ import annotations

import numpy as np
import torch

PROJECTION_DIM = 128


def coreset_size(count: int, target: float | int) -> int:
    """``target`` is a share of ``count`` when a float, an absolute count when an int."""
    if isinstance(target, float):
        if not 0.0 < target <= 1.0:
            raise ValueError(f"coreset ratio must be in (0, 1], got {target}")
        return max(1, min(count, round(count * target)))
    if target < 1:
        raise ValueError(f"coreset count must be >= 1, got {target}")
    return min(count, target)


def greedy_coreset(features: np.ndarray, target: float | int, seed: int) -> np.ndarray:
    """Indices of the selected rows, in selection order; deterministic for a seed.

    Starts from a random row and repeatedly adds the row farthest from the selected set, distances
    measured after a random Gaussian projection to at most 128 dimensions.
    """
    count = len(features)
    size = coreset_size(count, target)
    if size == count:
        return np.arange(count)
    rng = np.random.default_rng(seed)
    projected = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    if features.shape[1] > PROJECTION_DIM:
        projection = rng.standard_normal((features.shape[1], PROJECTION_DIM)) / np.sqrt(PROJECTION_DIM)
        projected = projected @ torch.from_numpy(projection.astype(np.float32))
    norms = (projected * projected).sum(1)
    selected = np.empty(size, dtype=np.int64)
    selected[0] = rng.integers(count)
    nearest = torch.full((count,), float("inf"))
    for step in range(1, size):
        last = projected[selected[step - 1]]
        distance = norms - 2.0 * (projected @ last) + norms[selected[step - 1]]
        torch.minimum(nearest, distance, out=nearest)
        selected[step] = int(torch.argmax(nearest))
    return selected


def covering_radius(features: np.ndarray, subset: np.ndarray) -> float:
    """Largest distance from any row to its nearest row in ``subset`` (what the coreset minimises)."""
    points = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    return float(torch.cdist(points, points[torch.from_numpy(subset)]).min(1).values.max())
