"""Do the machine's CPUs have their own vector units? One single-thread float32 matmul loop alone,
then one per CPU at the same time (docs/performance.md, "The machine").

    python benchmarks/core_sharing.py
"""

from __future__ import annotations

import multiprocessing
import os
import time

SIZE = 512
PRODUCTS = 1000


def matmul_rate(start_together=None, results=None) -> float:
    """GFLOP/s of one thread multiplying two SIZE x SIZE float32 matrices (put on ``results`` if given)."""
    import torch

    torch.set_num_threads(1)
    a, b = torch.randn(SIZE, SIZE), torch.randn(SIZE, SIZE)
    for _ in range(20):
        a @ b
    if start_together is not None:
        start_together.wait()
    started = time.perf_counter()
    for _ in range(PRODUCTS):
        a @ b
    rate = 2 * SIZE**3 * PRODUCTS / (time.perf_counter() - started) / 1e9
    if results is not None:
        results.put(rate)
    return rate


def main() -> None:
    cpus = os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")
    alone = matmul_rate()
    barrier, results = context.Barrier(cpus), context.Queue()
    workers = [context.Process(target=matmul_rate, args=(barrier, results)) for _ in range(cpus)]
    for worker in workers:
        worker.start()
    together = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    print(f"one thread alone: {alone:.1f} GFLOP/s; {cpus} at once: "
          + ", ".join(f"{rate:.1f}" for rate in together) + f" GFLOP/s (sum {sum(together):.1f})")


if __name__ == "__main__":
    main()
