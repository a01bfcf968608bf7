"""Nearest-bank-vector distance of each patch: a bfloat16 shortlist, re-ranked exactly in float32.

The bank is small (thousands of rows), so one matrix product against all of it is the search. In
bfloat16 that product runs at the CPU's bf16 rate but its distances are only good to ~3 digits, so
it only picks ``SHORTLIST`` candidates per patch; their distances are then recomputed in float32
from the original vectors. The candidates are taken by repeated row ``argmin`` (numpy's is vectorised;
torch's ``topk`` on CPU cost as much as the product itself), each found one masked before the next.
Bank and queries are centred on the bank mean first (distances do not change), which keeps the bf16
products small and their rounding below the gaps between neighbours.
The result equals exact search unless the true nearest vector is not among the candidates; on real
features the largest patch-score difference measured was 0.15 % (docs/performance.md).
"""

from __future__ import annotations

import numpy as np
import torch

from inspectd.detector.cluster_search import ClusteredIndex, OpenSearch
from inspectd.detector.ivf_search import InvertedFileIndex
from inspectd.detector.scoring import PatchIndex

SHORTLIST = 4
# Patches per matrix product: sized so that the [block, M] float32 distances (about this many bytes)
# stay in cache while the argmin passes sweep them. benchmarks/search_blocks.py, one thread: 10240 bank
# rows x 1600 patches 18.9 ms at 4 MiB vs 39.8 with fixed 1024-patch blocks (27.7 with the earlier
# topk); 1672 rows, batch 8 x 784: 12.8 vs 21.6; 1, 2 and 8 MiB were slower at almost every size.
PARTIAL_BYTES = 4 << 20


class ShortlistIndex:
    """Same interface as ``scoring.PatchIndex``: ``patch_scores([B, h, w, D]) -> [B, h, w]``."""

    def __init__(self, memory: np.ndarray) -> None:
        self.memory = np.ascontiguousarray(memory, dtype=np.float32)
        self.centre = torch.from_numpy(self.memory.mean(0))
        centred = torch.from_numpy(self.memory) - self.centre
        self.centred_bf16_t = centred.bfloat16().T.contiguous()
        self.half_norms_bf16 = (0.5 * (centred * centred).sum(1)).bfloat16()
        self.shortlist = min(SHORTLIST, len(memory))

    def patch_scores(self, patch_features: np.ndarray, excluded: np.ndarray | None = None) -> np.ndarray:
        """``excluded`` [M] bool: rows left out (a hold-out group's)."""
        batch, height, width, dim = patch_features.shape
        queries = np.ascontiguousarray(patch_features.reshape(-1, dim), dtype=np.float32)
        squared = np.full(len(queries), np.inf, dtype=np.float32)
        half_norms, shortlist = self.half_norms_bf16, self.shortlist
        if excluded is not None:  # an excluded row is never a candidate
            half_norms = half_norms.masked_fill(torch.from_numpy(excluded), float("inf"))
            shortlist = min(shortlist, int((~excluded).sum()))
        block_rows = max(32, PARTIAL_BYTES // (4 * len(self.memory)))
        for start in range(0, len(queries), block_rows):
            block = queries[start:start + block_rows]
            with torch.inference_mode():
                # argmin over m of |q - m|^2 = argmin of |m|^2 / 2 - q.m (|q|^2 is constant per row)
                partial = torch.addmm(half_norms, (torch.from_numpy(block) - self.centre).bfloat16(),
                                      self.centred_bf16_t, alpha=-1.0).float().numpy()
            rows, best = np.arange(len(block)), squared[start:start + block_rows]
            for _ in range(shortlist):
                nearest = partial.argmin(axis=1)
                differences = self.memory[nearest] - block
                np.minimum(best, np.einsum("ij,ij->i", differences, differences), out=best)
                partial[rows, nearest] = np.inf
        return np.sqrt(squared).reshape(batch, height, width)


def patch_index(memory: np.ndarray, search: str) -> PatchIndex | ShortlistIndex | ClusteredIndex | InvertedFileIndex:
    """The index ``DetectorSettings.search`` names: "clustered" (cluster_search.py), "ivf" (ivf_search.py),
    "shortlist" (this module) or "exact" (faiss flat L2)."""
    indexes = {"clustered": ClusteredIndex, "ivf": InvertedFileIndex, "shortlist": ShortlistIndex, "exact": PatchIndex}
    return indexes[search](memory)


class SettledSearch:
    """A search that is already exact everywhere (every index but the clustered one), as ``OpenSearch``."""

    settling_ms = 0.0

    def __init__(self, distances: np.ndarray) -> None:
        self._distances = distances

    def settled(self) -> np.ndarray:
        return np.ones(self._distances.shape, bool)

    def settle(self, cells: np.ndarray | None = None) -> None:
        """Nothing is left to prove."""

    def distances(self) -> np.ndarray:
        return self._distances


def open_search(index: PatchIndex | ShortlistIndex | ClusteredIndex | InvertedFileIndex,
                patch_features: np.ndarray) -> OpenSearch | SettledSearch:
    """The clustered index's first pass, the rest left for ``decisive_cells`` to prove where it decides; any other
    index's whole search."""
    if isinstance(index, ClusteredIndex):
        return index.open(patch_features)
    return SettledSearch(index.patch_scores(patch_features))
