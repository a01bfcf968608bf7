"""Shortlist search time against the size of its query blocks (inspectd/detector/search.py PARTIAL_BYTES).

    OMP_NUM_THREADS=1 python benchmarks/search_blocks.py

Random data of the real shapes (bank rows x 152 dims; 784 patches per 224 px frame, 1600 per 320 px),
one thread, median of 7 calls per cell, in milliseconds.
"""

from __future__ import annotations

import time

import numpy as np
import torch

import inspectd.detector.search as search

CASES = ((1672, 784, 1), (1672, 784, 8), (5016, 784, 1), (5016, 784, 8), (10240, 1600, 1), (10240, 1600, 8))
BUDGETS_MIB = (1, 2, 4, 8)


def median_ms(call, repeats: int = 7) -> float:
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1000.0


def main() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    print("bank rows, patches x batch: " + ", ".join(f"{mib} MiB" for mib in BUDGETS_MIB))
    for rows, patches, batch in CASES:
        index = search.ShortlistIndex(rng.standard_normal((rows, 152)).astype(np.float32))
        queries = rng.standard_normal((batch, 1, patches, 152)).astype(np.float32)
        cells = []
        for mib in BUDGETS_MIB:
            search.PARTIAL_BYTES = mib << 20
            cells.append(f"{median_ms(lambda: index.patch_scores(queries)):.2f}")
        print(f"{rows}, {patches} x {batch}: " + ", ".join(cells))


if __name__ == "__main__":
    main()
