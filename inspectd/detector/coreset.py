"""Greedy k-center coreset on a random projection (PatchCore; METHOD.md section 2)."""

from __future__ import annotations

import numpy as np
import torch

PROJECTION_DIM = 128
# Rows measured against every new centre (farthest_first): the farthest ones when the pool was made. With pools
# made lazily (_farthest_rows), 1024 beat 2048 and 4096 on one golden's rows of bottle, fryum and commutator at
# the defaults (0.40-0.54 s against 0.44-0.58 s and more, one thread).
CANDIDATES = 1024
# Rows measured at a time when a new pool is made: the pool is complete after the first block whose rows all lay
# nearer than the pool's nearest row at their last measurement. 8192 beat 2048 on the same rows.
REFRESH_ROWS = 8192


def coreset_size(count: int, target: float | int) -> int:
    """``target`` is a share of ``count`` when a float, an absolute count when an int."""
    if isinstance(target, float):
        if not 0.0 < target <= 1.0:
            raise ValueError(f"coreset ratio must be in (0, 1], got {target}")
        return max(1, min(count, round(count * target)))
    if target < 1:
        raise ValueError(f"coreset count must be >= 1, got {target}")
    return min(count, target)


def greedy_coreset(features: np.ndarray, target: float | int, seed: int, twins: np.ndarray | None = None) -> np.ndarray:
    """Indices of the selected rows, in selection order; deterministic for a seed.

    Starts from a random row and repeatedly adds the row farthest from the selected set, distances
    measured after a random Gaussian projection to at most 128 dimensions.

    ``twins``: row i holds the same vector as row ``twins[i]`` (``twins[i] == i`` for a row of its own). Twins
    are left out of every distance pass: a twin of a selected row is never farther than 0 from the set, so the
    selection is the one over all rows (the start drawn over all rows, then moved to its twin), for less work.
    """
    count = len(features)
    size = coreset_size(count, target)
    if size == count:
        return np.arange(count)
    rng = np.random.default_rng(seed)
    own = np.arange(count) if twins is None else np.flatnonzero(twins == np.arange(count))
    projected = projected_rows(features[own] if len(own) < count else features, rng)
    first = int(rng.integers(count))
    first = first if twins is None else int(twins[first])
    with torch.inference_mode():
        return own[farthest_first(projected, int(np.searchsorted(own, first)), min(size, len(own)))]


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
    reads all of ``points`` per step and is bound by memory. Here a pool of the ``CANDIDATES`` farthest rows
    is measured against each new centre; every other row was at most ``ceiling`` away when the pool was made
    and can only come closer, so while the pool's farthest row is still at least ``ceiling`` away it is the
    farthest row of all. When it is not, a new pool is made (``_farthest_rows``).
    """
    count = len(points)
    norms = (points * points).sum(1)
    # squared distance from each row to the centres chosen before ``measured[row]``: the most it is from the set
    nearest = torch.full((count,), float("inf"))
    measured = np.zeros(count, dtype=np.int64)
    selected = np.empty(size, dtype=np.int64)
    selected[0] = first
    step, candidates = 1, min(CANDIDATES, count)
    while step < size:
        rows, distance, ceiling = _farthest_rows(points, norms, nearest, measured, selected[:step], candidates)
        row_points, row_norms = points[rows], norms[rows]
        while step < size:
            best = int(torch.argmax(distance))
            if float(distance[best]) < ceiling:
                break  # a row outside the pool may be farther now
            centre = int(rows[best])
            selected[step] = centre
            step += 1
            update = torch.addmv(row_norms + norms[centre], row_points, points[centre], alpha=-2.0)
            torch.minimum(distance, update, out=distance)
        nearest[rows] = distance
        measured[rows.numpy()] = step
    return selected


def _farthest_rows(points: torch.Tensor, norms: torch.Tensor, nearest: torch.Tensor, measured: np.ndarray,
                   chosen: np.ndarray, count: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The ``count`` rows farthest from the ``chosen`` centres, their squared distances, and the ceiling (the
    nearest of them): no other row is farther.

    Rows are measured in blocks, those that were farthest at their last measurement first, and only until
    every row not yet measured was already nearer than the ceiling then: it can only have come closer since.
    Most well-covered rows are skipped, pass after pass (``nearest`` and ``measured`` keep where each stands)."""
    last = nearest.clone()  # the rows' distances at their last measurement, the order's key
    order = _descending(last, torch.arange(len(last)), 2 * REFRESH_ROWS)  # most passes stop within two blocks
    rows, distance = order[:0], nearest[:0]
    for start in range(0, len(last), REFRESH_ROWS):
        if start >= len(order):
            unordered = torch.ones(len(last), dtype=torch.bool)
            unordered[order] = False
            order = torch.cat([order, _descending(last, torch.nonzero(unordered)[:, 0], len(last))])
        if len(rows) == count and float(distance.min()) >= float(last[order[start]]):
            break
        block = order[start:start + REFRESH_ROWS]
        _measure(points, norms, nearest, measured, chosen, block)
        rows, distance = torch.cat([rows, block]), torch.cat([distance, nearest[block]])
        farthest = torch.topk(distance, min(count, len(distance)), sorted=False).indices
        rows, distance = rows[farthest], distance[farthest]
    return rows, distance.clone(), float(distance.min())


def _descending(values: torch.Tensor, rows: torch.Tensor, count: int) -> torch.Tensor:
    """The ``count`` of ``rows`` with the largest ``values``, largest first (a full sort only when it must)."""
    if count >= len(rows):
        return rows[torch.argsort(values[rows], descending=True)]
    return rows[torch.topk(values[rows], count).indices]


def _measure(points: torch.Tensor, norms: torch.Tensor, nearest: torch.Tensor, measured: np.ndarray,
             chosen: np.ndarray, block: torch.Tensor) -> None:
    """Lower ``nearest`` of the ``block`` rows to their distance to the centres chosen since each was last measured
    (one matrix product per group of rows last measured together). The rows are ordered by group and the
    centres since the oldest group's measurement gathered once, so each group's operands are slices of them."""
    since = measured[block.numpy()]
    order = np.argsort(since, kind="stable")  # a group's rows keep their order in the block
    since = since[order]
    oldest = int(since[0]) if len(since) else len(chosen)
    if oldest < len(chosen):
        rows = block[torch.from_numpy(order)]
        row_points, row_norms, distance = points[rows], norms[rows], nearest[rows]
        centres = torch.from_numpy(chosen[oldest:])
        centre_points, centre_norms = points[centres], norms[centres]
        starts = np.flatnonzero(np.diff(since, prepend=-1))
        for start, end in zip(starts, [*starts[1:], len(since)]):
            first = int(since[start]) - oldest
            if first == len(centres):
                continue
            # |row|^2 is the same for all of a row's centres: added after the minimum
            group = torch.addmm(centre_norms[first:][None], row_points[start:end], centre_points[first:].T,
                                alpha=-2.0).amin(1)
            torch.minimum(distance[start:end], group.add_(row_norms[start:end]), out=distance[start:end])
        nearest[rows] = distance
    measured[block.numpy()] = len(chosen)


def covering_radius(features: np.ndarray, subset: np.ndarray) -> float:
    """Largest distance from any row to its nearest row in ``subset`` (what the coreset minimises)."""
    points = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    return float(torch.cdist(points, points[torch.from_numpy(subset)]).min(1).values.max())
