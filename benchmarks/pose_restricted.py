"""One golden image: each test frame's pose chosen first, then its patches scored only against the bank rows
of the rotated copies within ``--window`` steps of that pose (a probe; docs/results.md, "Pose-restricted
scoring"). At K = 1 each rotated copy is its own hold-out group, so the bank's row groups say which copy a
row came from (the brightness-gain copies join the image's, pose 0). The pose is the copy whose rows give
the frame's patches the lowest mean distance. Image AUROC of the smoothed map's maximum, as the default.

    OMP_NUM_THREADS=2 python benchmarks/pose_restricted.py --categories mvtec_ad/screw [--windows 1,2]
"""

from __future__ import annotations

import numpy as np
from seeded_fits import runs_parser, seeded_detectors

from inspectd.detector.scoring import PatchIndex, anomaly_maps, image_scores
from inspectd.evaluation.metrics import auroc, pixel_auroc


def distances_per_pose(memory: np.ndarray, row_groups: np.ndarray, test: np.ndarray) -> np.ndarray:
    """[P, B, h, w]: each test patch's distance to its nearest row among pose p's rows."""
    return np.stack([PatchIndex(memory[row_groups == pose]).patch_scores(test) for pose in np.unique(row_groups)])


def restricted(per_pose: np.ndarray, window: int) -> np.ndarray:
    """[B, h, w]: per frame, the nearest distance over the poses within ``window`` steps of its best pose."""
    poses = len(per_pose)
    best = per_pose.mean(axis=(2, 3)).argmin(axis=0)  # [B]
    grids = np.empty(per_pose.shape[1:], per_pose.dtype)
    for frame, pose in enumerate(best):
        near = [(pose + step) % poses for step in range(-window, window + 1)]
        grids[frame] = per_pose[near, frame].min(axis=0)
    return grids


def main() -> None:
    parser = runs_parser(__doc__.splitlines()[0])
    parser.set_defaults(shots="1")
    parser.add_argument("--windows", default="1,2")
    args = parser.parse_args()
    windows = [int(w) for w in args.windows.split(",")]
    for name, category, test, shots, detectors in seeded_detectors(args):
        rows: dict[str, list[tuple[float, float]]] = {}
        for detector in detectors:
            bank, settings = detector.bank, detector.settings
            per_pose = distances_per_pose(bank.memory, bank.row_groups, test)
            variants = {"all poses": per_pose.min(axis=0)}
            variants.update({f"window {w}": restricted(per_pose, w) for w in windows})
            for label, grids in variants.items():
                maps = anomaly_maps(grids, detector.input_shape, settings.map_sigma())
                pixel = pixel_auroc(maps, category.test_masks)
                rows.setdefault(label, []).append((auroc(image_scores(maps, 1), category.test_labels),
                                                   np.nan if pixel is None else pixel))
        for label, values in rows.items():
            image, pixel = np.mean(values, axis=0)
            print(f"{name:32s} shots {shots} {label:10s}: image AUROC {image:.3f}, pixel AUROC {pixel:.3f} "
                  "(unregistered map)", flush=True)


if __name__ == "__main__":
    main()
