"""Exact nearest-bank-vector distance, searching only the bank clusters that could hold the nearest row.

The bank's rows are grouped around ``CLUSTERS`` centres (farthest-first picks refined by a few k-means steps),
each cluster with its radius (its farthest row from the centre). A patch first searches its ``PROBES``
nearest clusters. No row of cluster c lies nearer to patch q than ``|q - c| - radius_c`` (triangle
inequality), nor nearer than the hyperplane halfway between c and the patch's nearest centre (each row
is nearer its own centre), so every cluster whose bound is below the best distance found so far is searched too; the
rest cannot hold a nearer row. Within such a cluster only the rows at least ``|q - c| - best`` from its centre can
be nearer (again the triangle inequality): rows are kept in order of their distance from the centre, innermost
first, so each patch needs a trailing run of them, and patches that need about as many share one product
(``SHELL_SPLITS``). The first search finds the final nearest row for most patches; the rest is proof, which a
frame needs only where its cells decide the verdict or the drawn regions (``decisive_cells``).
The result is the exact nearest row, whatever the patch: an anomalous patch far from every cluster just searches
more of them (its distance is never under- or over-estimated beyond float rounding). Clusters are searched one at a
time, each against the patches that need it, as one matrix product per group of patches.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from inspectd.detector.coreset import farthest_first

CLUSTERS = 32
PROBES = 2
REFINE_STEPS = 3  # k-means steps after the farthest-first centres: tighter radii, fewer clusters searched
# Banks smaller than this are one cluster: a single product is as fast as any pruning.
MIN_CLUSTER_ROWS = 256
# Bounds are compared with this much slack, so that float rounding of the distances can only add work.
ROUNDING_SLACK = 1e-3
# Shares of a cluster's rows at which the patches checking it are split into groups, each group's product covering the
# trailing (outermost) run of rows its neediest patch needs: more groups skip more rows but cost a product each
SHELL_SPLITS = (0.25, 0.5)


class ClusteredIndex:
    """Same interface as ``scoring.PatchIndex``: ``patch_scores([B, h, w, D]) -> [B, h, w]``."""

    def __init__(self, memory: np.ndarray, clusters: int | None = None) -> None:
        """``clusters``: how many (default: ``CLUSTERS``, fewer for a bank of under ``MIN_CLUSTER_ROWS`` each)."""
        memory = np.ascontiguousarray(memory, dtype=np.float32)
        self.centre = memory.mean(0)
        centred = torch.from_numpy(memory - self.centre)  # small values: less rounding in |q|^2 + |m|^2 - 2 q.m
        count = max(1, min(len(memory), clusters or min(CLUSTERS, len(memory) // MIN_CLUSTER_ROWS)))
        centres = centred[torch.from_numpy(farthest_first(centred, 0, count))]
        with torch.inference_mode():
            for _ in range(REFINE_STEPS if count > 1 else 0):
                assigned = _nearest(centred, centres)
                sums = torch.zeros_like(centres).index_add_(0, assigned, centred)
                sizes = torch.bincount(assigned, minlength=count)[:, None]
                centres = torch.where(sizes > 0, sums / sizes.clamp_min(1), centres)
            assigned = _nearest(centred, centres)
            from_centre = (centred - centres[assigned]).norm(dim=1).numpy()
        # by cluster, and within one from its innermost row outwards
        order = np.lexsort((from_centre, assigned.numpy()))
        self.order = order  # the memory row each of ``rows`` is
        self.rows = centred[torch.from_numpy(order)].contiguous()  # one copy: products take its transposed view
        self.row_norms = (self.rows * self.rows).sum(1)
        self.from_centre = from_centre[order]  # each row's distance from its cluster's centre, ascending per cluster
        self.starts = np.searchsorted(assigned.numpy()[order], np.arange(count + 1))
        self.centres_t, self.centre_norms = centres.T.contiguous(), (centres * centres).sum(1)
        self.centre_gaps = torch.cdist(centres, centres).numpy()
        self.radii = np.array([self.from_centre[end - 1] if start < end else 0.0
                               for start, end in zip(self.starts[:-1], self.starts[1:])], np.float32)

    def patch_scores(self, patch_features: np.ndarray, excluded: np.ndarray | None = None) -> np.ndarray:
        """``excluded`` [M] bool, in the memory's order: rows left out (a hold-out group's). The bounds still hold
        for the rows left in, so the result is the exact nearest of those."""
        search = self.open(patch_features, excluded)
        search.settle()
        return search.distances()

    def open(self, patch_features: np.ndarray, excluded: np.ndarray | None = None) -> OpenSearch:
        """The first pass of ``patch_scores``: each patch searches its ``PROBES`` nearest clusters. What is left to
        prove each patch's nearest row is kept in the result, for ``OpenSearch.settle`` to do where it is needed."""
        batch, height, width, dim = patch_features.shape
        blocked = None if excluded is None else torch.from_numpy(np.ascontiguousarray(excluded[self.order]))
        queries = torch.from_numpy(np.ascontiguousarray(patch_features.reshape(-1, dim), dtype=np.float32) - self.centre)
        with torch.inference_mode():
            norms = (queries * queries).sum(1)
            query_norms = norms.numpy()
            to_centres = torch.addmm(norms[:, None] + self.centre_norms, queries, self.centres_t, alpha=-2.0)
            to_centres = to_centres.clamp_min_(0.0).sqrt_().numpy()
            best = np.full(len(queries), np.inf, np.float32)
            nearest = np.zeros(len(queries), np.int64)
            probes = min(PROBES, len(self.radii))
            first = np.zeros(to_centres.shape, bool)
            np.put_along_axis(first, np.argpartition(to_centres, probes - 1, axis=1)[:, :probes], True, axis=1)
            self._search(queries, query_norms, first, best, nearest, blocked)
        bound = self._lower_bounds(to_centres) ** 2
        # the least distance from its centre a cluster's row must have to come nearer than the best found
        reach = to_centres - np.sqrt(np.maximum(best, 0.0))[:, None] * (1 + ROUNDING_SLACK)
        pending = (bound < best[:, None] * (1 + ROUNDING_SLACK)) & ~first
        return OpenSearch(self, queries, query_norms, best, nearest, pending, reach, blocked, (batch, height, width))

    def _lower_bounds(self, to_centres: np.ndarray) -> np.ndarray:
        """[patches, clusters] no row of the cluster lies nearer the patch than this: the larger of the ball
        bound (distance to the centre less the radius) and the distance to the bisecting hyperplane between the
        cluster's centre and the patch's nearest centre (every row lies on its own centre's side)."""
        own = to_centres.argmin(1)
        own_distance = np.take_along_axis(to_centres, own[:, None], axis=1)
        plane = (to_centres ** 2 - own_distance ** 2) / np.maximum(2.0 * self.centre_gaps[own], 1e-12)
        return np.maximum(np.maximum(to_centres - self.radii, plane), 0.0)

    def _search(self, queries: torch.Tensor, norms: np.ndarray, wanted: np.ndarray, best: np.ndarray,
                nearest: np.ndarray, blocked: torch.Tensor | None, reach: np.ndarray | None = None) -> None:
        """For each cluster, the patches ``wanted`` [patches, clusters] marks: lower ``best`` (squared distance)
        and ``nearest`` (row) where the cluster holds a nearer row that ``blocked`` (None: none) does not mark.
        ``reach`` [patches, clusters]: only rows at least this far from the cluster's centre are searched (None:
        all)."""
        searching = np.flatnonzero(wanted.any(1))  # few, when only a frame's deciding cells are proven
        wanted = wanted[searching]
        for cluster in range(len(self.radii)):
            patches = searching[wanted[:, cluster]]
            start, end = self.starts[cluster], self.starts[cluster + 1]
            if len(patches) == 0 or start == end:
                continue
            for group, rows in self._shell_groups(patches, cluster, reach):
                self._search_rows(queries, norms, group, end - rows, end, best, nearest, blocked, reach is None)

    def _shell_groups(self, patches: np.ndarray, cluster: int,
                      reach: np.ndarray | None) -> list[tuple[np.ndarray, int]]:
        """The patches that search ``cluster``, in groups, each with how many of its trailing (outermost) rows the
        group needs: every row at least ``reach`` from the centre for each of its patches."""
        start, end = self.starts[cluster], self.starts[cluster + 1]
        if reach is None:
            return [(patches, end - start)]
        needed = (end - start) - np.searchsorted(self.from_centre[start:end], reach[patches, cluster], side="left")
        groups, lower = [], 0
        for limit in (*(round(share * (end - start)) for share in SHELL_SPLITS), end - start):
            members = (needed > lower) & (needed <= limit)
            if members.any():
                groups.append((patches[members], int(needed[members].max())))
            lower = max(lower, limit)
        return groups

    def _search_rows(self, queries: torch.Tensor, norms: np.ndarray, patches: np.ndarray, start: int, end: int,
                     best: np.ndarray, nearest: np.ndarray, blocked: torch.Tensor | None, first_pass: bool) -> None:
        """``first_pass``: most patches will find a nearer row here (the first pass); else few will (the proof)."""
        distance = torch.addmm(self.row_norms[None, start:end], queries[patches], self.rows[start:end].T, alpha=-2.0)
        if blocked is not None:
            distance.masked_fill_(blocked[None, start:end], float("inf"))
        if first_pass:
            value, row = distance.min(1)
            value = value.numpy() + norms[patches]
            nearer = value < best[patches]
            row = row.numpy()[nearer]
        else:  # the minima alone are a third of the cost of minima and their columns; columns only where nearer
            value = distance.amin(1).numpy() + norms[patches]
            nearer = value < best[patches]
            row = distance[torch.from_numpy(nearer)].argmin(1).numpy() if nearer.any() else np.zeros(0, np.int64)
        best[patches[nearer]] = value[nearer]
        nearest[patches[nearer]] = row + start


class OpenSearch:
    """A clustered search after its first pass. Each patch's distance so far is to a real bank row, so it can only
    fall; ``pending`` [patches, clusters] marks the clusters a patch must still search before that distance is
    proven the nearest (most patches: their first pass found it, but the bounds cannot yet show it)."""

    def __init__(self, index: ClusteredIndex, queries: torch.Tensor, norms: np.ndarray, best: np.ndarray,
                 nearest: np.ndarray, pending: np.ndarray, reach: np.ndarray, blocked: torch.Tensor | None,
                 shape: tuple[int, int, int]) -> None:
        self.index, self.queries, self.norms, self.best, self.nearest = index, queries, norms, best, nearest
        self.pending, self.reach, self.blocked, self.shape = pending, reach, blocked, shape
        self.settling_ms = 0.0  # time spent in ``settle``
        self._distances = self._measured(np.arange(len(nearest)))

    def settled(self) -> np.ndarray:
        """[B, h, w] bool: the patches whose distance is proven the nearest."""
        return ~self.pending.any(1).reshape(self.shape)

    def settle(self, cells: np.ndarray | None = None) -> None:
        """Search what is left for the patches ``cells`` [B, h, w] bool marks (None: all), making theirs exact."""
        started = time.perf_counter()
        wanted = self.pending if cells is None else self.pending & cells.reshape(-1, 1)
        if wanted.any():
            before = self.nearest.copy()
            with torch.inference_mode():
                self.index._search(self.queries, self.norms, wanted, self.best, self.nearest, self.blocked, self.reach)
            self.pending &= ~wanted
            moved = np.flatnonzero(self.nearest != before)
            self._distances[moved] = self._measured(moved)
        self.settling_ms += (time.perf_counter() - started) * 1000.0

    def distances(self) -> np.ndarray:
        """[B, h, w] each patch's distance to the nearest row found so far (exact where ``settled``)."""
        return self._distances.reshape(self.shape)

    def _measured(self, patches: np.ndarray) -> np.ndarray:
        """The distances of ``patches`` to their nearest rows, by subtraction: |q|^2 + |m|^2 - 2 q.m, which chose
        the rows, rounds worse."""
        chosen = torch.from_numpy(patches)
        with torch.inference_mode():
            differences = self.index.rows[torch.from_numpy(self.nearest[patches])] - self.queries[chosen]
            squared = (differences * differences).sum(1).numpy()
        return np.sqrt(squared)


def _nearest(points: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Index of the nearest centre of each row."""
    return torch.addmm((centres * centres).sum(1)[None], points, centres.T, alpha=-2.0).argmin(1)
