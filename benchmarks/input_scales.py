"""Image and pixel AUROC of the default detector at several input sizes, and of their fused maps.

    OMP_NUM_THREADS=1 python benchmarks/input_scales.py --categories mvtec_ad/screw,kolektorsdd/commutator \
        --sizes 224,320,448 --fuse 224+320,320+448 [--shots 1,4] [--seeds 0]

For each size a bank is fitted from the same goldens (the default settings with ``input_size`` set) and
every test image scored. A fusion ``A+B`` divides each size's anomaly map by that bank's calibrated
threshold (so both are in threshold units), resizes them to the 320 px input shape and averages them;
its image score is the fused map's maximum. Pixel AUROC is computed on maps at the 320 px input shape.
Prints one line per category, shot count and size or fusion (mean over the seeds), then mean rows.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from inspectd.detector.detector import Detector
from inspectd.detector.features import input_shape
from inspectd.detector.fit import fit_memory, scoring_bank
from inspectd.evaluation.command import parse_ints, settings_from_options
from inspectd.evaluation.dataset import draw_shots, load_category
from inspectd.evaluation.features_cache import FeatureCache
from inspectd.evaluation.metrics import auroc
from inspectd.images import read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
COMMON_SIZE = 320


def maps_in_threshold_units(category, size: int, shots: list[int], seeds: list[int],
                            common: tuple[int, int]) -> dict[tuple[int, int], np.ndarray]:
    """(shots, seed) -> test maps / threshold at the ``common`` shape, for banks fitted at ``size``."""
    settings = settings_from_options([f"input_size={size}"])
    cache = FeatureCache(settings, read_rgb(category.train_files[0]))
    test, _ = cache.test(category.test_images)
    out = {}
    for shot_count in shots:
        for seed in seeds:
            goldens = [category.train_files[i] for i in draw_shots(len(category.train_files), shot_count, seed)]
            fitted = fit_memory(lambda i, augmentations: cache.golden(goldens[i], augmentations)[0], shot_count,
                                replace(settings, seed=seed), cache.shape)
            _, maps = Detector(scoring_bank(fitted, settings, shot_count)).score_maps(test, {})
            out[(shot_count, seed)] = np.stack([
                cv2.resize(m / fitted.threshold, common[::-1], interpolation=cv2.INTER_LINEAR) for m in maps])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", required=True, help="comma-separated, under --data")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sizes", default="320,448")
    parser.add_argument("--fuse", default="", help="comma-separated fusions of sizes, e.g. 320+448")
    parser.add_argument("--shots", default="1,4")
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    shots, seeds = parse_ints(args.shots), parse_ints(args.seeds)
    rows = [(size,) for size in parse_ints(args.sizes)]
    rows += [tuple(int(s) for s in fusion.split("+")) for fusion in args.fuse.split(",") if fusion]
    totals: dict[tuple, list[tuple[float, float | None]]] = {}
    for name in args.categories.split(","):
        category = load_category(args.data / name)
        common = input_shape(*read_rgb(category.train_files[0]).shape[:2], COMMON_SIZE)
        masks = None if category.test_masks is None else np.stack([
            cv2.resize(mask, common[::-1], interpolation=cv2.INTER_NEAREST) for mask in category.test_masks])
        per_size = {size: maps_in_threshold_units(category, size, shots, seeds, common)
                    for size in sorted({s for row in rows for s in row})}
        for shot_count in shots:
            for row in rows:
                image, pixel = [], []
                for seed in seeds:
                    fused = sum(per_size[size][(shot_count, seed)] for size in row) / len(row)
                    image.append(auroc(fused.reshape(len(fused), -1).max(1), category.test_labels))
                    if masks is not None:
                        pixel.append(auroc(fused.ravel(), masks.ravel()))
                result = (float(np.mean(image)), float(np.mean(pixel)) if pixel else None)
                totals.setdefault((shot_count, row), []).append(result)
                label = "+".join(map(str, row))
                print(f"{name:32s} shots {shot_count} {label:12s} image {result[0]:.3f} pixel "
                      f"{'-' if result[1] is None else f'{result[1]:.3f}'}", flush=True)
    for (shot_count, row), results in totals.items():
        pixel = [p for _, p in results if p is not None]
        print(f"{'mean':32s} shots {shot_count} {'+'.join(map(str, row)):12s} image "
              f"{np.mean([i for i, _ in results]):.3f} pixel {np.mean(pixel) if pixel else float('nan'):.3f}")


if __name__ == "__main__":
    main()
