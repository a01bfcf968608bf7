"""Milliseconds per frame of the part's outline (detector/part_outline.py), at the default input shape, on one
category's test frames (docs/performance.md, "With the part's outline").

    OMP_NUM_THREADS=1 python benchmarks/outline_stages.py --category visa/fryum --frames 40

The outline is fitted on the first golden; each call is timed over the same frames, median of three passes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np

from inspectd.detector.part_outline import fit_outline
from inspectd.detector.features import input_shape, resize_to
from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation.dataset import load_category
from inspectd.images import read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def ms_per_item(step: Callable[[np.ndarray], object], items: list[np.ndarray]) -> float:
    passes = []
    for _ in range(3):
        started = time.perf_counter()
        for item in items:
            step(item)
        passes.append((time.perf_counter() - started) * 1000.0 / len(items))
    return statistics.median(passes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--category", default="visa/fryum", help="relative to ../shared/data")
    parser.add_argument("--frames", type=int, default=40)
    args = parser.parse_args()
    settings = DetectorSettings()
    category = load_category(DATA / args.category)
    golden = read_rgb(category.train_files[0])
    shape = input_shape(*golden.shape[:2], settings.input_size, settings.keep_aspect)
    outline = fit_outline(resize_to(golden, shape)[None])
    if outline is None:
        raise SystemExit(f"{args.category}: no outline is fitted on its first golden")
    frames = [resize_to(image, shape) for image in category.test_images[:args.frames]]
    rng = np.random.default_rng(0)
    maps = [rng.random(shape, dtype=np.float32) for _ in frames]
    steps = {
        "outlines (colour distances, opening, hull)": ms_per_item(lambda frame: outline.outlines(frame[None]), frames),
        # uniform noise and a threshold at its median: half the map above it, the peak's region traced through it
        "restrict (the outlines, the maps zeroed off them)": ms_per_item(
            lambda pair: outline.restrict(pair[0][None], pair[1][None], 0.5), list(zip(maps, frames))),
    }
    print(f"{args.category}: {len(frames)} frames at {shape[0]} x {shape[1]}")
    for name, ms in steps.items():
        print(f"  {name:52s} {ms:6.2f} ms")


if __name__ == "__main__":
    main()
