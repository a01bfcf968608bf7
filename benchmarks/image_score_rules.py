"""Image AUROC of image-score rules on the default detector's anomaly maps: the map's maximum (the default)
against its peak above a per-image baseline (docs/results.md, "Image score above the part's own baseline").

    OMP_NUM_THREADS=1 python benchmarks/image_score_rules.py --categories mvtec_ad/screw,visa/fryum \
        [--shots 1,4] [--seeds 0,1,2]

Rules: ``max`` (the map's maximum); ``max-median`` / ``max-half-median`` / ``max-mean`` (the maximum minus
the map's median, half its median, its mean); ``max-fitted-median``: the maximum minus alpha times the
median, alpha the least-squares slope of maximum on median over the goldens' hold-out maps (each hold-out
group against the other groups' rows), clipped to [0, 1]: the share of the maximum that rises with the
part's overall offset among good parts, learnt without a test image. Prints one line per category and shot count (mean over the
seeds), then the mean over the categories.
"""

from __future__ import annotations

import numpy as np
from seeded_fits import runs_parser, seeded_detectors

from inspectd.detector.detector import Detector
from inspectd.detector.scoring import anomaly_maps
from inspectd.detector.search import patch_index
from inspectd.evaluation.metrics import auroc

RULES = {
    "max": lambda flat: flat.max(1),
    "max-median": lambda flat: flat.max(1) - np.median(flat, 1),
    "max-half-median": lambda flat: flat.max(1) - 0.5 * np.median(flat, 1),
    "max-mean": lambda flat: flat.max(1) - flat.mean(1),
}


def fitted_median_weight(detector: Detector) -> float:
    """Slope of the hold-out maps' maximum on their median, clipped to [0, 1] (0 with one hold-out map)."""
    bank, settings = detector.bank, detector.settings
    maxima, medians = [], []
    for group, features in enumerate(bank.holdout_features):
        rows = bank.memory[bank.row_groups != group]  # a single-group fit's rows are all -1: all of them
        patch_scores = patch_index(rows, settings.search).patch_scores(features[None])
        flat = anomaly_maps(patch_scores, detector.input_shape, settings.map_sigma()).ravel()
        maxima.append(flat.max())
        medians.append(np.median(flat))
    if len(maxima) < 2 or np.ptp(medians) == 0:
        return 0.0
    return float(np.clip(np.polyfit(medians, maxima, 1)[0], 0.0, 1.0))


def main() -> None:
    args = runs_parser(__doc__.splitlines()[0]).parse_args()
    totals: dict[tuple[int, str], list[float]] = {}
    for name, category, test, shots, detectors in seeded_detectors(args):
        per_rule: dict[str, list[float]] = {rule: [] for rule in RULES} | {"max-fitted-median": []}
        for detector in detectors:
            # the maps before registration moves them, as the image score sees them (scoring.scores_and_maps)
            maps = anomaly_maps(detector.index.patch_scores(test), detector.input_shape, detector.settings.map_sigma())
            flat = maps.reshape(len(maps), -1)
            for rule, score in RULES.items():
                per_rule[rule].append(auroc(score(flat), category.test_labels))
            weight = fitted_median_weight(detector)
            print(f"  fitted median weight {weight:.3f}", flush=True)
            fitted = flat.max(1) - weight * np.median(flat, 1)
            per_rule["max-fitted-median"].append(auroc(fitted, category.test_labels))
        for rule, values in per_rule.items():
            totals.setdefault((shots, rule), []).append(float(np.mean(values)))
        print(f"{name:32s} shots {shots} " + " | ".join(f"{rule} {np.mean(v):.3f}" for rule, v in per_rule.items()),
              flush=True)
    for (shots, rule), values in totals.items():
        print(f"mean shots {shots} {rule}: {np.mean(values):.4f}")


if __name__ == "__main__":
    main()
