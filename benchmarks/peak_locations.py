"""Where the anomaly map's maximum, the image score, lies on good and on defective test images: the share
within ``--edge`` pixels of the frame's edge at the input shape, and the image AUROC if that band were left
out of the image score (a diagnostic, not a rule: a defect there would be missed) (docs/results.md,
"Probes of 2026-12-01").

    OMP_NUM_THREADS=1 python benchmarks/peak_locations.py --categories visa/fryum,mvtec_ad/screw [--seeds 0]
"""

from __future__ import annotations

import numpy as np
from seeded_fits import runs_parser, seeded_detectors

from inspectd.detector.scoring import anomaly_maps, registered
from inspectd.evaluation.metrics import auroc


def edge_distances(maps: np.ndarray) -> np.ndarray:
    """[B, H, W] -> [B] pixels from each map's maximum to the nearest edge of the frame."""
    height, width = maps.shape[1:]
    ys, xs = np.unravel_index(maps.reshape(len(maps), -1).argmax(1), (height, width))
    return np.minimum.reduce([ys, xs, height - 1 - ys, width - 1 - xs])


def main() -> None:
    parser = runs_parser(__doc__.splitlines()[0])
    parser.add_argument("--edge", type=int, default=24, help="pixels at the input shape (3 cells of the stride-8 grid)")
    args = parser.parse_args()
    for name, category, test, shots, detectors in seeded_detectors(args):
        labels = np.asarray(category.test_labels, bool)
        near = {False: [], True: []}
        whole_auroc, inner_auroc = [], []
        for detector in detectors:
            grids = detector.index.patch_scores(test)
            # the image score is taken from the unregistered map, where the defect is shown from the registered one
            unregistered = anomaly_maps(grids, detector.input_shape, detector.settings.map_sigma())
            distances = edge_distances(registered(unregistered, detector.grid_centre,
                                                  unregistered.shape[2] / grids.shape[2]))
            for defective in (False, True):
                near[defective].append(float(np.mean(distances[labels == defective] < args.edge)))
            inner = unregistered[:, args.edge:-args.edge, args.edge:-args.edge]
            whole_auroc.append(auroc(unregistered.reshape(len(test), -1).max(1), labels))
            inner_auroc.append(auroc(inner.reshape(len(test), -1).max(1), labels))
        print(f"{name:32s} shots {shots}: peak within {args.edge} px of the edge on goods {np.mean(near[False]):.2f}, "
              f"on defectives {np.mean(near[True]):.2f}; image AUROC {np.mean(whole_auroc):.3f}, "
              f"without that band {np.mean(inner_auroc):.3f}", flush=True)


if __name__ == "__main__":
    main()
