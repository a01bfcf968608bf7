"""Refit and per-frame latency alone and beside one CPU-bound neighbour process, under two thread policies
(docs/performance.md, "Threads").

    python benchmarks/neighbour_load.py [--goldens 4] [--frames 24] [--policies cooperative,library-defaults]

Do not set OMP_NUM_THREADS: this measures threading. Each measurement runs in a fresh process so each policy
takes effect before torch and faiss load: ``cooperative`` is what inspectd's commands do at start
(``inspectd.threads.cooperate``), ``library-defaults`` what they did before (every library's own default: one
thread per CPU, OpenMP threads that spin while waiting). The workloads: ``refit``, ``fit_bank`` of the first K
bottle train images at the defaults; ``p50``, the median ``Detector.inspect`` time of batch-1 frames (the
bottle test images) on a 4-shot bank. The neighbour is one process multiplying float32 matrices on one thread
(what another evaluation or refit does), started before the measurement and stopped after it; it also stops
itself after ``--neighbour-limit`` seconds or when this script exits. Prints each figure idle and beside the
neighbour, and their ratio (the issue's target: at most 2.5x).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(os.environ.get("INSPECTD_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
BOTTLE = DATA / "mvtec_ad" / "bottle"
POLICIES = ("cooperative", "library-defaults")
WORKLOADS = ("refit", "p50")


def neighbour(limit_s: float, parent: int) -> None:
    """Multiply 512 x 512 float32 matrices on one thread until ``limit_s`` passes or ``parent`` is gone."""
    import torch

    torch.set_num_threads(1)
    a, b = torch.randn(512, 512), torch.randn(512, 512)
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and os.getppid() == parent:
        for _ in range(50):
            a @ b


def measure(workload: str, policy: str, goldens: int, frames: int) -> dict:
    """One workload in this (fresh) process under ``policy``: seconds for refit, milliseconds for p50."""
    if policy == "cooperative":
        from inspectd.threads import cooperate

        cooperate()
    import torch

    from inspectd.detector import Detector, fit_bank
    from inspectd.evaluation.dataset import load_category
    from inspectd.images import read_rgb

    category = load_category(BOTTLE)
    golden = [read_rgb(path) for path in category.train_files[:goldens]]
    threads = torch.get_num_threads()
    if workload == "refit":
        started = time.perf_counter()
        fit_bank(golden, None)
        return {"value": time.perf_counter() - started, "threads": threads}
    detector = Detector(fit_bank(golden[:4], None))
    images = category.test_images[:frames]
    detector.inspect(images[:1])  # warm-up
    times = []
    for image in images:
        started = time.perf_counter()
        detector.inspect([image])
        times.append((time.perf_counter() - started) * 1000.0)
    return {"value": statistics.median(times), "threads": threads}


def run_worker(workload: str, policy: str, args: argparse.Namespace) -> dict:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("OMP_", "KMP_", "GOMP_", "OPENBLAS_", "MKL_", "INSPECTD_THREADS"))}
    command = [sys.executable, __file__, "--worker", workload, "--policy", policy, "--goldens", str(args.goldens),
               "--frames", str(args.frames)]
    output = subprocess.run(command, env=environment, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--goldens", type=int, default=4)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--neighbour-limit", type=float, default=900.0, help="seconds the neighbour runs at most")
    parser.add_argument("--worker", choices=WORKLOADS)
    parser.add_argument("--neighbour", action="store_true")
    parser.add_argument("--policy", choices=POLICIES, default="cooperative")
    args = parser.parse_args()
    if args.neighbour:
        neighbour(args.neighbour_limit, os.getppid())
        return
    if args.worker:
        print(json.dumps(measure(args.worker, args.policy, args.goldens, args.frames)))
        return
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at start; neighbour: one process, "
          f"one thread of float32 matmul", flush=True)
    print(f"{'workload':<26}{'policy':<18}{'threads':>8}{'idle':>9}{'beside':>9}{'ratio':>8}", flush=True)
    for workload in args.workloads.split(","):
        for policy in args.policies.split(","):
            idle = run_worker(workload, policy, args)
            helper = subprocess.Popen([sys.executable, __file__, "--neighbour", "--neighbour-limit",
                                       str(args.neighbour_limit)], env={**os.environ, "OMP_NUM_THREADS": "1"})
            try:
                loaded = run_worker(workload, policy, args)
            finally:
                helper.send_signal(signal.SIGTERM)
                helper.wait()
            name = f"refit {args.goldens} goldens, s" if workload == "refit" else "p50 per frame, ms"
            print(f"{name:<26}{policy:<18}{idle['threads']:>8}{idle['value']:>9.2f}{loaded['value']:>9.2f}"
                  f"{loaded['value'] / idle['value']:>7.2f}x", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
