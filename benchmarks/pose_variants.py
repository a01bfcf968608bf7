"""Image AUROC of pose-aligned variants (detector/pose.py) on a category whose goldens get a pose alignment
(docs/results.md, "Turning each frame to its part").

    OMP_NUM_THREADS=2 python benchmarks/pose_variants.py --category mvtec_ad/screw [--shots 1,2,4,8] [--seeds 0,1,2]

Variants: ``default`` (the aligned copies of pose.aligned_augmentations: pose.aligned_rotations of the axis error
measured on the goldens); ``one-step`` (one step either side of the axis whatever the error, the default before
2026-12-06); ``mirror`` (the default copies, each also mirrored across the axis); ``ends-only`` (0 and 180 degrees
alone); ``margin-0.2`` (twice the window margin); ``whole-frame`` (pose off: the 24-rotation whole-frame default).
Each variant is the same ``inspectd eval`` harness with the pose module's copies or margin swapped. Prints one
line per variant and shot count, means over the seeds: image AUROC (then per seed), the false-reject rate at
the calibrated threshold, fit seconds and milliseconds per test image (run the variants in one process to
compare timings).
"""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import replace
from pathlib import Path
from unittest import mock

import numpy as np

from inspectd.detector import fit, pose
from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation.harness import evaluate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _copies(rotations: tuple[float, ...] | None, mirror: bool):
    """An ``aligned_augmentations`` holding ``rotations`` (None: the measured ones), mirrored or not."""
    def copies(augmentations, measured: tuple[float, ...]):
        return replace(augmentations, rotations=measured if rotations is None else rotations, hflip=False, vflip=mirror)
    return copies


# (module, attribute, replacement) per variant
VARIANTS = {
    "default": [],
    "one-step": [(pose, "axis_error", lambda frames, outline, angles: 0.0)],
    "mirror": [(fit, "aligned_augmentations", _copies(None, True))],
    "ends-only": [(fit, "aligned_augmentations", _copies((0.0, 180.0), False))],
    "margin-0.2": [(pose, "WINDOW_MARGIN", 2 * pose.WINDOW_MARGIN)],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--category", required=True, help="relative to ../shared/data")
    parser.add_argument("--shots", default="1,2,4,8")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--variants", default=",".join([*VARIANTS, "whole-frame"]))
    args = parser.parse_args()
    shots, seeds = [int(s) for s in args.shots.split(",")], [int(s) for s in args.seeds.split(",")]
    for variant in args.variants.split(","):
        settings = DetectorSettings(pose="off") if variant == "whole-frame" else DetectorSettings()
        with contextlib.ExitStack() as patches:
            for module, attribute, replacement in VARIANTS.get(variant, []):
                patches.enter_context(mock.patch.object(module, attribute, replacement))
            results = evaluate([DATA / args.category], shots, seeds, "graphcore", settings)
        for shot_count in shots:
            rows = [r for r in results if r.shots == shot_count]
            print(f"{variant:12s} K={shot_count}: image AUROC {np.mean([r.image_auroc for r in rows]):.3f} "
                  f"({' '.join(f'{r.image_auroc:.3f}' for r in rows)}), false reject "
                  f"{np.mean([r.false_reject_rate for r in rows]):.3f}, fit {np.mean([r.fit_seconds for r in rows]):.2f} s, "
                  f"{np.mean([r.ms_per_image for r in rows]):.1f} ms/image", flush=True)


if __name__ == "__main__":
    main()
