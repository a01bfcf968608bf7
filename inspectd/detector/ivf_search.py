"""Nearest-bank-vector distance through faiss's inverted file: approximate, about twice the clustered search's speed.

The bank's rows are split into k-means lists of about ``ROWS_PER_LIST`` rows; a patch is measured against the rows
of its ``PROBES`` nearest lists only, one distance at a time by subtraction (no |q|^2 + |m|^2 - 2 q.m rounding).
Where its nearest row lies in a list it does not probe, its score is that of a farther row: the error only ever
raises a score. How often, and by how much, on the nine shared categories: docs/performance.md.
"""

from __future__ import annotations

import faiss
import numpy as np

from inspectd.detector.scoring import PatchIndex

ROWS_PER_LIST = 43  # 258 lists for a 4-golden bottle bank (11,092 rows)
PROBES = 8
# faiss's k-means asks for at least this many rows per list to train on; smaller banks get fewer lists
MIN_TRAINING_ROWS = 39


class InvertedFileIndex(PatchIndex):
    """``scoring.PatchIndex`` over an inverted file: ``patch_scores([B, h, w, D]) -> [B, h, w]``, each patch's
    distance to the nearest bank vector of its probed lists."""

    def __init__(self, memory: np.ndarray) -> None:
        memory = np.ascontiguousarray(memory, dtype=np.float32)
        lists = max(1, min(round(len(memory) / ROWS_PER_LIST), len(memory) // MIN_TRAINING_ROWS))
        self.quantizer = faiss.IndexFlatL2(memory.shape[1])  # the index keeps a reference, not a copy
        self.index = faiss.IndexIVFFlat(self.quantizer, memory.shape[1], lists)
        self.index.train(memory)
        self.index.add(memory)
        self.probes = min(PROBES, lists)

    def search_parameters(self) -> faiss.SearchParametersIVF:
        return faiss.SearchParametersIVF(nprobe=self.probes)
