"""Where anomalib's PatchCore spends a frame (docs/performance.md): its forward under torch's profiler.

    OMP_NUM_THREADS=1 python benchmarks/anomalib_profile.py --size 224 --rotations 8 --frames 16

Needs anomalib (a side venv). Fits the bench's bank, builds the bench's anomalib baseline on it, and
prints its stages (medians, from the baseline's hooks) and the operators that take its time (grouped by
input shape, so the map's 33 x 33 Gaussian stands apart from the backbone's convolutions), one thread, batch 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from inspectd.bench.anomalib_baseline import AnomalibPatchcore
from inspectd.bench.command import bench_settings, set_threads
from inspectd.bench.frames import load_bench_data
from inspectd.bench.stages import MAX_PIXELS
from inspectd.daemon.decode import decode_image
from inspectd.detector.fit import fit_bank

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mvtec_ad" / "bottle"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DATA)
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rotations", type=int, default=8)
    parser.add_argument("--frames", type=int, default=16)
    args = parser.parse_args()
    set_threads(1)
    settings = bench_settings(args.size, None, args.rotations)
    data = load_bench_data(args.images, args.shots, args.frames)
    baseline = AnomalibPatchcore(fit_bank(data.golden_images, settings))
    timings: dict[str, float] = {}
    batches = [baseline.embedded_features([decode_image(frame, MAX_PIXELS).image], timings) for frame in data.frames]
    baseline.score_maps(batches[0], timings)  # warm-up
    stages: dict[str, list[float]] = {}
    for batch in batches:
        baseline.score_maps(batch, timings)
        for stage, ms in timings.items():
            stages.setdefault(stage, []).append(ms)
    print(f"anomalib forward, {len(batches)} frames, bank {tuple(baseline.model.memory_bank.shape)}, {args.size} px")
    print("median wall ms: " + ", ".join(f"{stage} {np.median(ms):.2f}" for stage, ms in stages.items()))
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as profile:
        for batch in batches:
            baseline.score_maps(batch, timings)
    print(f"operators (per-frame ms = CPU total / {len(batches)}):")
    print(profile.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=16))


if __name__ == "__main__":
    main()
