"""Greedy k-center coreset on a random projection (PatchCore; METHOD.md section 2)."""

from __future__ import annotations

import numpy as np
import torch

PROJECTION_DIM = 128
# Rows measured against every new centre (farthest_first): the farthest ones at the last full pass. 1024-4096
# took about the same time on one golden's 41,600 rows at the defaults; fewer mean more full passes.
CANDIDATES = 2048
# Rows per block of a full pass, so the [block, new centres] distances stay small.
PASS_ROWS = 8192


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
    projected = projected_rows(features, rng)
    with torch.inference_mode():
        return farthest_first(projected, int(rng.integers(count)), size)


def projected_rows(features: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
    """``features`` as float32 rows, after a random Gaussian projection to ``PROJECTION_DIM`` where they have more."""
    projected = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    if features.shape[1] > PROJECTION_DIM:
        projection = rng.standard_normal((features.shape[1], PROJECTION_DIM)) / np.sqrt(PROJECTION_DIM)
        projected = projected @ torch.from_numpy(projection.astype(np.float32))
    return projected.contiguous()


def farthest_first(points: torch.Tensor, first: int, size: int) -> np.ndarray:
    """The greedy k-center order from row ``first``: each next row is the one farthest from those chosen.

    The same choices as measuring every row against each new centre (up to float rounding and ties), which
    reads all of ``points`` per step and is bound by memory. Here a full pass measures every row against the
    centres chosen since the last pass in one matrix product (bound by arithmetic), and keeps the
    ``CANDIDATES`` farthest rows; each new centre is then measured against those rows only. Every other row
    was at most ``ceiling`` away at the pass, and can only come closer, so while the farthest candidate is
    still at least ``ceiling`` away it is the farthest row of all; when it is not, the next full pass runs.
    """
    count = len(points)
    norms = (points * points).sum(1)
    nearest = torch.full((count,), float("inf"))  # squared distance to the centres chosen before ``synced``
    selected = np.empty(size, dtype=np.int64)
    selected[0] = first
    synced, step, candidates = 0, 1, min(CANDIDATES, count)
    while step < size:
        centres = torch.from_numpy(selected[synced:step])
        centre_points, centre_norms = points[centres].T.contiguous(), norms[centres][None]
        for start in range(0, count, PASS_ROWS):
            block = slice(start, start + PASS_ROWS)
            distance = torch.addmm(norms[block, None] + centre_norms, points[block], centre_points, alpha=-2.0)
            torch.minimum(nearest[block], distance.min(1).values, out=nearest[block])
        synced = step
        distance, rows = torch.topk(nearest, candidates, sorted=False)
        ceiling, distance = float(distance.min()), distance.clone()
        row_points, row_norms = points[rows], norms[rows]
        while step < size:
            best = int(torch.argmax(distance))
            if float(distance[best]) < ceiling:
                break  # a row outside the candidates may be farther now
            centre = int(rows[best])
            selected[step] = centre
            step += 1
            update = torch.addmv(row_norms + norms[centre], row_points, points[centre], alpha=-2.0)
            torch.minimum(distance, update, out=distance)
    return selected


def covering_radius(features: np.ndarray, subset: np.ndarray) -> float:
    """Largest distance from any row to its nearest row in ``subset`` (what the coreset minimises)."""
    points = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    return float(torch.cdist(points, points[torch.from_numpy(subset)]).min(1).values.max())
