"""Image AUROC of image-score rules on the default detector's anomaly maps: the map's maximum (the default)
against its peak above a per-image baseline (docs/results.md, "Image score above the part's own baseline").

    OMP_NUM_THREADS=1 python benchmarks/image_score_rules.py --categories mvtec_ad/screw,visa/fryum \
        [--shots 1,4] [--seeds 0,1,2]

Rules: ``max`` (the map's maximum); ``max-median`` / ``max-half-median`` / ``max-mean`` (the maximum minus
the map's median, half its median, its mean). Prints one line per category and shot count (mean over the
seeds), then the mean over the categories.
"""

from __future__ import annotations

import numpy as np
from seeded_fits import runs_parser, seeded_detectors

from inspectd.evaluation.metrics import auroc

RULES = {
    "max": lambda flat: flat.max(1),
    "max-median": lambda flat: flat.max(1) - np.median(flat, 1),
    "max-half-median": lambda flat: flat.max(1) - 0.5 * np.median(flat, 1),
    "max-mean": lambda flat: flat.max(1) - flat.mean(1),
}


def main() -> None:
    args = runs_parser(__doc__.splitlines()[0]).parse_args()
    totals: dict[tuple[int, str], list[float]] = {}
    for name, category, test, shots, detectors in seeded_detectors(args):
        per_rule: dict[str, list[float]] = {rule: [] for rule in RULES}
        for detector in detectors:
            _, maps = detector.score_maps(test, {})
            flat = maps.reshape(len(maps), -1)
            for rule, score in RULES.items():
                per_rule[rule].append(auroc(score(flat), category.test_labels))
        for rule, values in per_rule.items():
            totals.setdefault((shots, rule), []).append(float(np.mean(values)))
        print(f"{name:32s} shots {shots} " + " | ".join(f"{rule} {np.mean(v):.3f}" for rule, v in per_rule.items()),
              flush=True)
    for (shots, rule), values in totals.items():
        print(f"mean shots {shots} {rule}: {np.mean(values):.4f}")


if __name__ == "__main__":
    main()
