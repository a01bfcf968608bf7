"""Image and pixel AUROC of patch-score rules that use more of the bank than the nearest row's distance
(docs/results.md, "Probes of 2026-12-01"); every rule is computed from the default bank and the goldens alone.

    OMP_NUM_THREADS=1 python benchmarks/patch_score_rules.py --categories mvtec_ad/screw,visa/fryum [--seeds 0]

Rules, per test patch with bank distances d_1 <= ... <= d_8 (exact search) to rows m_1 ... m_8:
- ``nearest``: d_1 (the default);
- ``knn3``: the mean of d_1..d_3;
- ``row_scale``: min_i d_i / r(m_i), r(m) = the distance from bank row m to the nearest row of another
  hold-out group (another golden, or another pose of one golden) over the median of r: a patch counts as far
  only in units of how much the goldens themselves vary there (a local-outlier-factor form);
  ``row_scale_sqrt``: the same with sqrt(r);
- ``minus_position`` / ``over_position``: d_1 minus / over the mean hold-out score of the same grid cell
  (each hold-out group scored against the other groups' rows, as calibration does), rescaled to its mean.
"""

from __future__ import annotations

import faiss
import numpy as np
from seeded_fits import runs_parser, seeded_detectors

from inspectd.detector.calibration import leave_one_group_out_grids
from inspectd.detector.scoring import anomaly_maps, image_scores, registered
from inspectd.evaluation.metrics import auroc, pixel_auroc

NEIGHBOURS = 8


def row_scales(memory: np.ndarray, row_groups: np.ndarray) -> np.ndarray:
    """Each row's distance to the nearest row of another group, over the median of those distances."""
    scales = np.empty(len(memory), np.float32)
    for group in np.unique(row_groups):
        others = faiss.IndexFlatL2(memory.shape[1])
        others.add(memory[row_groups != group])
        squared, _ = others.search(memory[row_groups == group], 1)
        scales[row_groups == group] = np.sqrt(np.maximum(squared[:, 0], 0.0))
    return scales / np.median(scales)


def position_baseline(detector) -> np.ndarray:
    """[h, w] mean score of each grid cell over the hold-out groups, each against the other groups' rows."""
    bank = detector.bank
    return leave_one_group_out_grids(bank.memory, bank.row_groups, bank.holdout_features, detector.settings.search).mean(0)


def rule_grids(detector, test: np.ndarray) -> dict[str, np.ndarray]:
    memory, row_groups = detector.bank.memory, detector.bank.row_groups
    index = faiss.IndexFlatL2(memory.shape[1])
    index.add(memory)
    squared, rows = index.search(np.ascontiguousarray(test.reshape(-1, test.shape[-1])), NEIGHBOURS)
    distances = np.sqrt(np.maximum(squared, 0.0))
    scales = row_scales(memory, row_groups)
    baseline = position_baseline(detector)
    nearest = distances[:, 0].reshape(test.shape[:3])
    rules = {"nearest": distances[:, 0], "knn3": distances[:, :3].mean(1),
             "row_scale": (distances / scales[rows]).min(1), "row_scale_sqrt": (distances / np.sqrt(scales[rows])).min(1)}
    grids = {rule: values.reshape(test.shape[:3]) for rule, values in rules.items()}
    grids["minus_position"] = nearest - baseline + baseline.mean()
    grids["over_position"] = nearest / baseline * baseline.mean()
    return grids


def main() -> None:
    args = runs_parser(__doc__.splitlines()[0]).parse_args()
    for name, category, test, shots, detectors in seeded_detectors(args):
        per_rule: dict[str, list[tuple[float, float | None]]] = {}
        for detector in detectors:
            for rule, grid in rule_grids(detector, test).items():
                whole = anomaly_maps(grid, detector.input_shape, detector.settings.map_sigma())
                maps = registered(whole, detector.grid_centre, whole.shape[2] / grid.shape[2])
                per_rule.setdefault(rule, []).append(
                    (auroc(image_scores(whole, 1), category.test_labels), pixel_auroc(maps, category.test_masks)))
        cells = []
        for rule, values in per_rule.items():
            pixel = None if values[0][1] is None else float(np.mean([v[1] for v in values]))
            cells.append(f"{rule} {np.mean([v[0] for v in values]):.3f}" + ("" if pixel is None else f" ({pixel:.3f})"))
        print(f"{name:32s} shots {shots} " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
