"""Image AUROC of image-score rules on the default detector's anomaly maps: the map's maximum (the default)
against its peak above a per-image baseline (docs/results.md, "Image score above the part's own baseline").

    OMP_NUM_THREADS=1 python benchmarks/image_score_rules.py --categories mvtec_ad/screw,visa/fryum \
        [--shots 1,4] [--seeds 0,1,2]

Rules: ``max`` (the map's maximum); ``max-median`` / ``max-half-median`` / ``max-mean`` (the maximum minus
the map's median, half its median, its mean). Prints one line per category and shot count (mean over the
seeds), then the mean over the categories.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from inspectd.detector.detector import Detector
from inspectd.detector.fit import fit_memory, scoring_bank
from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation.command import parse_ints
from inspectd.evaluation.dataset import draw_shots, load_category
from inspectd.evaluation.features_cache import FeatureCache
from inspectd.evaluation.metrics import auroc
from inspectd.images import read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RULES = {
    "max": lambda flat: flat.max(1),
    "max-median": lambda flat: flat.max(1) - np.median(flat, 1),
    "max-half-median": lambda flat: flat.max(1) - 0.5 * np.median(flat, 1),
    "max-mean": lambda flat: flat.max(1) - flat.mean(1),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", required=True)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--shots", default="1,4")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    settings = DetectorSettings()
    totals: dict[tuple[int, str], list[float]] = {}
    for name in args.categories.split(","):
        category = load_category(args.data / name)
        cache = FeatureCache(settings, read_rgb(category.train_files[0]))
        test, _ = cache.test(category.test_images)
        for shots in parse_ints(args.shots):
            per_rule: dict[str, list[float]] = {rule: [] for rule in RULES}
            for seed in parse_ints(args.seeds):
                paths = [category.train_files[i] for i in draw_shots(len(category.train_files), shots, seed)]
                fitted = fit_memory(lambda i, a: cache.golden(paths[i], a)[0], shots, replace(settings, seed=seed),
                                    cache.shape)
                _, maps = Detector(scoring_bank(fitted, settings, shots)).score_maps(test, {})
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
