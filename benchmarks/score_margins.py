"""Image and pixel AUROC when a margin of each side of the frame (a share of its height and of its width)
is left out of the image score, as PatchCore's centre crop (224 of 256: 1/16 of each side) leaves it out
of the frame. Two placements of the band: on the registered map (cells where they look) and on the
unregistered one (cells where an image's pixels lie). Pixel AUROC on the registered map with the band
set to the image's lowest value inside it (docs/results.md, "A margin left out of the score").

    OMP_NUM_THREADS=1 python benchmarks/score_margins.py --categories visa/fryum,mvtec_ad/screw [--seeds 0]
"""

from __future__ import annotations

import numpy as np
from seeded_fits import runs_parser, seeded_detectors

from inspectd.detector.scoring import anomaly_maps, registered
from inspectd.evaluation.metrics import auroc, pixel_auroc


def kept_window(shape: tuple[int, int], share: float) -> tuple[slice, slice]:
    """Rows and columns of a map of ``shape`` left once ``share`` of its height and width goes from each side."""
    top, left = round(shape[0] * share), round(shape[1] * share)
    return slice(top, shape[0] - top), slice(left, shape[1] - left)


def inner(maps: np.ndarray, share: float) -> np.ndarray:
    """[B, H, W] -> the maps without ``share`` of their height and width at each side."""
    rows, columns = kept_window(maps.shape[1:], share)
    return maps[:, rows, columns]


def masked(maps: np.ndarray, share: float) -> np.ndarray:
    """The maps with the band set to each map's lowest value inside it."""
    rows, columns = kept_window(maps.shape[1:], share)
    band = np.ones(maps.shape[1:], bool)
    band[rows, columns] = False
    floor = maps[:, rows, columns].reshape(len(maps), -1).min(1)
    out = maps.copy()
    out[:, band] = floor[:, None]
    return out


def main() -> None:
    parser = runs_parser(__doc__.splitlines()[0])
    parser.add_argument("--shares", default="0,0.0625,0.1")
    args = parser.parse_args()
    shares = [float(s) for s in args.shares.split(",")]
    for name, category, test, shots, detectors in seeded_detectors(args):
        labels = np.asarray(category.test_labels, bool)
        rows = {share: {"reg": [], "unreg": [], "pixel": []} for share in shares}
        for detector in detectors:
            grids = detector.index.patch_scores(test)
            unregistered = anomaly_maps(grids, detector.input_shape, detector.settings.map_sigma())
            moved = registered(unregistered, detector.grid_centre, unregistered.shape[2] / grids.shape[2])
            for share in shares:
                rows[share]["reg"].append(auroc(inner(moved, share).reshape(len(test), -1).max(1), labels))
                rows[share]["unreg"].append(auroc(inner(unregistered, share).reshape(len(test), -1).max(1), labels))
                pixel = pixel_auroc(masked(moved, share), category.test_masks)
                rows[share]["pixel"].append(np.nan if pixel is None else pixel)
        for share in shares:
            row = rows[share]
            print(f"{name:32s} shots {shots} margin {share:.4f}: image AUROC registered {np.mean(row['reg']):.3f}, "
                  f"unregistered {np.mean(row['unreg']):.3f}; pixel AUROC {np.mean(row['pixel']):.3f}", flush=True)


if __name__ == "__main__":
    main()
