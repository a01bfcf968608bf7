"""Late fusion of the two feature stages (a probe, not the default): each stage searched on its own, its
patch distances divided by the goldens' typical distance for that stage, then combined.

    OMP_NUM_THREADS=1 python benchmarks/stage_fusion.py --categories mvtec_ad/screw,visa/fryum [--shots 1,4] [--seeds 0]

The default searches the concatenated vector, so one bank row must match both stages at once and the
stage with the larger distances dominates. Here each stage finds its own nearest row (rows are the
default bank's), and its distance is divided by the median distance of the goldens' hold-out patches to
the rows of the other hold-out groups (no test image is looked at). Rules: ``rss`` = root of the sum of
squared normalised distances, ``sum``, ``max``. Prints one JSON line per category, shot count, seed and
rule (``joint`` = the default), image and pixel AUROC.
"""

from __future__ import annotations

import json

import numpy as np

from inspectd.detector.scoring import PatchIndex, scores_and_maps
from inspectd.evaluation.metrics import auroc, pixel_auroc
from seeded_fits import runs_parser, seeded_detectors

RULES = {
    "rss": lambda parts: np.sqrt(sum(p * p for p in parts)),
    "sum": lambda parts: sum(parts),
    "max": lambda parts: np.maximum(*parts),
}


def nearest(rows: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Exact nearest-row distance of every patch of ``queries`` [B, h, w, D] -> [B, h, w]."""
    return PatchIndex(rows).patch_scores(queries)


def golden_scale(memory: np.ndarray, row_groups: np.ndarray, holdout: np.ndarray) -> float:
    """Median hold-out patch distance to the other groups' rows (a single-group fit's rows are all -1: all)."""
    distances = [nearest(memory[row_groups != g], holdout[g:g + 1]).ravel() for g in range(len(holdout))]
    return float(np.median(np.concatenate(distances)))


def main() -> None:
    args = runs_parser(__doc__.splitlines()[0]).parse_args()
    for name, category, test, shots, detectors in seeded_detectors(args):
        split = detectors[0].backbone.channels[0]
        for seed, detector in zip(args.seeds.split(","), detectors):
            bank, shape, sigma = detector.bank, detector.input_shape, detector.settings.map_sigma()
            stages = [slice(0, split), slice(split, None)]
            parts = []
            for stage in stages:
                rows = np.ascontiguousarray(bank.memory[:, stage])
                scale = golden_scale(rows, bank.row_groups, np.ascontiguousarray(bank.holdout_features[..., stage]))
                parts.append(nearest(rows, np.ascontiguousarray(test[..., stage])) / scale)
            patch_maps = {"joint": nearest(bank.memory, test)} | {rule: f(parts) for rule, f in RULES.items()}
            for rule, patch_scores in patch_maps.items():
                scores, maps = scores_and_maps(patch_scores, shape, sigma, detector.grid_centre, 1)
                print(json.dumps({"category": name, "shots": shots, "seed": int(seed), "rule": rule,
                                  "image_auroc": round(auroc(scores, category.test_labels), 4),
                                  "pixel_auroc": pixel_auroc(maps, category.test_masks)}), flush=True)


if __name__ == "__main__":
    main()
