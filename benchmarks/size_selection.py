"""Can the goldens alone pick a product's input size? Synthetic-defect AUROC on held-out goldens vs real AUROC.

    OMP_NUM_THREADS=1 python benchmarks/size_selection.py --categories mvtec_ad/screw,lookout_for_vision/cookies \
        [--sizes 224,320,448] [--shots 1,4] [--seed 0]

For each size a bank is fitted (default settings with ``input_size`` set) and every test image scored
(the real image AUROC). Then, from the goldens alone: each hold-out group (a golden for K >= 2, a pose for
K = 1, as the calibration groups them) is scored against the bank rows of the other groups, clean and
with synthetic defects drawn on the frame before it is resized (a scratch, a pasted patch from elsewhere
in the image, a darker or brighter stain; sizes relative to the frame, so every input size sees the same
defect). The synthetic AUROC separates those two sets. Prints one line per category, shots and size.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from inspectd.detector.augment import rotate
from inspectd.detector.calibration import holdout_groups
from inspectd.detector.detector import Detector
from inspectd.detector.features import patch_features, resize_to, to_batch
from inspectd.detector.fit import fit_memory, scoring_bank
from inspectd.detector.scoring import anomaly_maps, image_scores
from inspectd.detector.search import patch_index
from inspectd.evaluation.command import parse_ints, settings_from_options
from inspectd.evaluation.dataset import draw_shots, load_category
from inspectd.evaluation.features_cache import FeatureCache
from inspectd.evaluation.metrics import auroc
from inspectd.images import read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PROBE_POSES = 6  # hold-out poses probed per golden (K >= 2) or in all (K = 1), evenly spread over the angles


def synthetic_defects(image: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Three defective versions of an RGB frame: a scratch, a pasted patch, a stain; sizes relative to the frame."""
    height, width = image.shape[:2]
    side = min(height, width)
    out = []
    scratch = image.copy()
    centre = rng.uniform([0.15 * width, 0.15 * height], [0.85 * width, 0.85 * height])
    angle, length = rng.uniform(0, np.pi), rng.uniform(0.05, 0.15) * side
    offset = np.array([np.cos(angle), np.sin(angle)]) * length / 2
    shade = 0 if image.mean() > 127 else 255
    cv2.line(scratch, tuple(int(v) for v in centre - offset), tuple(int(v) for v in centre + offset),
             (shade, shade, shade), max(1, int(0.008 * side)), cv2.LINE_AA)
    out.append(scratch)
    pasted = image.copy()
    size = max(4, int(rng.uniform(0.04, 0.08) * side))
    sy, sx = rng.integers(0, height - size), rng.integers(0, width - size)
    dy, dx = int(centre[1] - size / 2), int(centre[0] - size / 2)
    pasted[dy:dy + size, dx:dx + size] = np.rot90(image[sy:sy + size, sx:sx + size], rng.integers(1, 4))
    out.append(pasted)
    stain = image.astype(np.float32)
    mask = np.zeros((height, width), np.float32)
    axes = tuple(max(2, int(rng.uniform(0.02, 0.05) * side)) for _ in range(2))
    cv2.ellipse(mask, tuple(int(v) for v in centre), axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, axes[0] / 4))[:, :, None]
    gain = rng.choice([0.6, 1.5])
    out.append(np.clip(stain * (1 + (gain - 1) * mask), 0, 255).astype(np.uint8))
    return out


def synthetic_auroc(cache: FeatureCache, settings, fitted, goldens: list[np.ndarray], seed: int) -> float:
    """Clean vs synthetic-defect scores of held-out goldens / poses against the other groups' bank rows."""
    rng = np.random.default_rng(seed)
    angles = settings.augmentations.angles()
    probes = np.linspace(0, len(angles), PROBE_POSES, endpoint=False).astype(int)
    groups = holdout_groups(len(goldens), len(angles) + len(settings.augmentations.gains),
                            len(settings.augmentations.gains))
    clean, defective = [], []
    for golden_index, image in enumerate(goldens):
        for pose in probes:
            copy_index = golden_index * (len(angles) + len(settings.augmentations.gains)) + pose
            group = groups[copy_index]
            index = patch_index(fitted.memory[fitted.row_groups != group], settings.search)
            frames = [image, *synthetic_defects(image, rng)]
            batch = to_batch([rotate(resize_to(f, cache.shape), angles[pose]) for f in frames], cache.backbone)
            features = patch_features(cache.backbone, batch, settings.precision, settings.feature_norm_power)
            maps = anomaly_maps(index.patch_scores(features), cache.shape, settings.map_sigma())
            scores = image_scores(maps, settings.score_top_k)
            clean.append(scores[0])
            defective.extend(scores[1:])
    return auroc(np.r_[clean, defective], np.r_[np.zeros(len(clean)), np.ones(len(defective))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", required=True)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sizes", default="224,320,448")
    parser.add_argument("--shots", default="1,4")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name in args.categories.split(","):
        category = load_category(args.data / name)
        for size in parse_ints(args.sizes):
            settings = replace(settings_from_options([f"input_size={size}"]), seed=args.seed)
            cache = FeatureCache(settings, read_rgb(category.train_files[0]))
            test, _ = cache.test(category.test_images)
            for shots in parse_ints(args.shots):
                paths = [category.train_files[i] for i in draw_shots(len(category.train_files), shots, args.seed)]
                fitted = fit_memory(lambda i, a: cache.golden(paths[i], a)[0], shots, settings, cache.shape)
                scores, _ = Detector(scoring_bank(fitted, settings, shots)).score_maps(test, {})
                real = auroc(scores, category.test_labels)
                synthetic = synthetic_auroc(cache, settings, fitted, [read_rgb(p) for p in paths], args.seed)
                print(f"{name:32s} shots {shots} size {size}: real {real:.3f} synthetic {synthetic:.3f}", flush=True)


if __name__ == "__main__":
    main()
