"""How many threads torch, faiss, OpenBLAS and OpenCV use, and how their idle threads wait.

Each library's default is one thread per CPU, and OpenMP threads that spin while they wait for the next
parallel region. On a box where another process is busy, a spinning thread takes CPU the others need, and
every parallel region waits for the thread the scheduler left out: a refit beside one CPU-bound process took
10x its idle time (issue 25). So inspectd's commands use half the CPUs this process may run on (at least one;
the other half for the daemon's own decode and publish threads, and for whatever else the box runs), and
threads that sleep when idle (``OMP_WAIT_POLICY=PASSIVE``). The wait policy is read when the OpenMP runtime
loads, so ``cooperate`` must run before torch or faiss are imported to set it; the thread counts it sets
either way. What the user set in the environment wins.
"""

from __future__ import annotations

import os

THREADS_VARIABLE = "INSPECTD_THREADS"
# Read when each library loads: the OpenMP runtimes of torch and faiss (GNU; KMP_* for Intel's), OpenBLAS
# (numpy's and faiss's) and MKL.
WAIT_POLICY = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}
COUNT_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def default_threads() -> int:
    """``INSPECTD_THREADS``, else ``OMP_NUM_THREADS``, else half the CPUs this process may use (at least 1)."""
    for name in (THREADS_VARIABLE, "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
            return int(value)
    return max(1, len(os.sched_getaffinity(0)) // 2)


def cooperate(threads: int | None = None) -> int:
    """Set the wait policy (where the libraries are not loaded yet) and every library's thread count to
    ``threads`` (default: ``default_threads()``); returns the count."""
    count = threads if threads is not None else default_threads()
    if count < 1:
        raise ValueError(f"threads must be >= 1, got {count}")
    for name, value in WAIT_POLICY.items():
        os.environ.setdefault(name, value)
    for name in COUNT_VARIABLES:
        os.environ.setdefault(name, str(count))
    import cv2
    import faiss
    import torch

    torch.set_num_threads(count)
    faiss.omp_set_num_threads(count)
    cv2.setNumThreads(count)
    return count
