"""Exact nearest-bank-vector distance, searching only the bank clusters that could hold the nearest row.

The bank's rows are grouped around ``CLUSTERS`` centres (farthest-first picks refined by a few k-means steps),
each cluster with its radius (its farthest row from the centre). A patch first searches its ``PROBES``
nearest clusters. No row of cluster c lies nearer to patch q than ``|q - c| - radius_c`` (triangle
inequality), nor nearer than the hyperplane halfway between c and the patch's nearest centre (each row
is nearer its own centre), so every cluster whose bound is below the best distance found so far is searched too; the
rest cannot hold a nearer row. Within such a cluster only the rows at least ``|q - c| - best`` from its centre can
be nearer (again the triangle inequality): rows are kept in order of their distance from the centre, innermost
first, so each patch needs a trailing run of them, and patches that need about as many share one product
(``SHELL_SPLITS``). The first search finds the final nearest row for about 97 % of patches; the rest is proof.
The result is the exact nearest row, whatever the patch: an anomalous patch far from every cluster just searches
more of them (its distance is never under- or over-estimated beyond float rounding). Clusters are searched one at a
time, each against the patches that need it, as one matrix product per group of patches.
"""

from __future__ import annotations

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
            self._search(queries, query_norms, (bound < best[:, None] * (1 + ROUNDING_SLACK)) & ~first, best, nearest,
                         blocked, reach)
            differences = self.rows[torch.from_numpy(nearest)] - queries
            squared = (differences * differences).sum(1).numpy()
        return np.sqrt(squared).reshape(batch, height, width)

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
        for cluster in range(len(self.radii)):
            patches = np.flatnonzero(wanted[:, cluster])
            start, end = self.starts[cluster], self.starts[cluster + 1]
            if len(patches) == 0 or start == end:
                continue
            for group, rows in self._shell_groups(patches, cluster, reach):
                self._search_rows(queries, norms, group, end - rows, end, best, nearest, blocked)

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
                     best: np.ndarray, nearest: np.ndarray, blocked: torch.Tensor | None) -> None:
        distance = torch.addmm(self.row_norms[None, start:end], queries[patches], self.rows[start:end].T, alpha=-2.0)
        if blocked is not None:
            distance.masked_fill_(blocked[None, start:end], float("inf"))
        value, row = distance.min(1)
        value = value.numpy() + norms[patches]
        nearer = value < best[patches]
        best[patches[nearer]] = value[nearer]
        nearest[patches[nearer]] = row.numpy()[nearer] + start


def _nearest(points: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Index of the nearest centre of each row."""
    return torch.addmm((centres * centres).sum(1)[None], points, centres.T, alpha=-2.0).argmin(1)
