"""Probe of 2026-12-06 (issue 23): is a patch better scored by how well its K nearest bank rows rebuild it than by
its distance to the nearest one?

Goods that the goldens do not cover (tire, magnetic_tile) may lie between bank rows, where defects lie off them:
each patch's score becomes the residual of its locally linear reconstruction (LLE weights: affine, ridge
``RECON_LAM`` x the local Gram trace; ``RECON_NONNEG=1`` clips them at 0) from its ``RECON_K`` nearest rows (exact
faiss search). ``RECON_K=1`` is the nearest-row distance through the same code. Every search of ``inspectd eval``
(test frames, calibration, stream learning) goes through it:

    RECON_K=8 RECON_LAM=0.1 OMP_NUM_THREADS=1 python benchmarks/patch_reconstruction_probe.py eval \\
        --data ../shared/data/mvtec_3d_rgb/tire --shots 4 --seeds 0 --json tire.json
"""

import os
import sys

import faiss
import numpy as np

from inspectd.detector import calibration, detector, scoring, stream_learning

K = int(os.environ.get("RECON_K", "8"))
LAM = float(os.environ.get("RECON_LAM", "0.1"))
NONNEG = os.environ.get("RECON_NONNEG", "0") == "1"
CHUNK = 8192  # patches per solve


class ReconstructionIndex(scoring.PatchIndex):
    def __init__(self, memory: np.ndarray) -> None:
        super().__init__(memory)
        self.memory = np.ascontiguousarray(memory, dtype=np.float32)

    def patch_scores(self, patch_features: np.ndarray, excluded: np.ndarray | None = None) -> np.ndarray:
        batch, height, width, dim = patch_features.shape
        queries = np.ascontiguousarray(patch_features.reshape(-1, dim), dtype=np.float32)
        params = self.search_parameters()
        if excluded is not None and excluded.any():
            params.sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(np.flatnonzero(excluded).astype(np.int64)))
        squared, rows = self.index.search(queries, K, params=params)
        if K == 1:
            return np.sqrt(np.maximum(squared[:, 0], 0)).reshape(batch, height, width)
        residuals = np.empty(len(queries), np.float32)
        eye = np.eye(K)
        for start in range(0, len(queries), CHUNK):
            patches = queries[start:start + CHUNK].astype(np.float64)
            neighbours = self.memory[rows[start:start + CHUNK]].astype(np.float64)
            offsets = patches[:, None, :] - neighbours
            gram = np.einsum("nkd,njd->nkj", offsets, offsets)
            gram += (LAM * np.trace(gram, axis1=1, axis2=2) / K + 1e-12)[:, None, None] * eye
            weights = np.linalg.solve(gram, np.ones((len(patches), K, 1)))[..., 0]
            if NONNEG:
                weights = np.maximum(weights, 0)
            weights /= weights.sum(1, keepdims=True)
            rebuilt = np.einsum("nk,nkd->nd", weights, neighbours)
            residuals[start:start + CHUNK] = np.linalg.norm(patches - rebuilt, axis=1)
        return residuals.reshape(batch, height, width)


def reconstruction_index(memory: np.ndarray, search: str) -> ReconstructionIndex:
    return ReconstructionIndex(memory)


for module in (calibration, detector, stream_learning):
    module.patch_index = reconstruction_index

if __name__ == "__main__":
    from inspectd.cli import app
    sys.argv = ["inspectd", *sys.argv[1:]]
    app()
