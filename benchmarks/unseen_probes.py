"""Probes of 2026-12-05 (issue 23): what holds tire and magnetic_tile down, and three general mechanisms tried.

    OMP_NUM_THREADS=1 python benchmarks/unseen_probes.py types --category mvtec_3d_rgb/tire --shots 4 --seeds 0 \
        [--set input_size=448] [--flat 0.125]
    OMP_NUM_THREADS=1 python benchmarks/unseen_probes.py extent
    OMP_NUM_THREADS=1 python benchmarks/unseen_probes.py scale --category magnetic_tile/magnetic_tile --shots 1 \
        --seeds 0,1,2 --mode fixed|goldens|first

``types``: the default detector as ``inspectd eval`` runs it, image AUROC per defect type (each type against
every good), the threshold and quantiles of the good and defective scores; ``--flat S`` divides every backbone
input by its luminance blurred with sigma S x its shorter side (times the blur's mean: a flat-field correction).
``extent``: the box round the part's outline on 4 goldens (seeds 0, 1) per shared category, the zoom a crop to
it would allow, and the share of each test part's outline that falls outside it.
``scale``: frames scored at one pixel scale, each at its own shape (``goldens``: the goldens' mean area maps to
input_size**2; ``first``: the first train image's), against every frame resized to one shape (``fixed``, the
default's); a simplified fit (coreset per golden, mirrored cells dropped, no outline or layout check).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch

from inspectd.detector import detector as detector_module
from inspectd.detector import features as features_module
from inspectd.detector import fit as fit_module
from inspectd.detector.augment import augmented_copies, copy_coverage
from inspectd.detector.backbone import get_backbone
from inspectd.detector.coreset import greedy_coreset
from inspectd.detector.features import SHAPE_MULTIPLE, input_shape, patch_features, resize_to, to_batch
from inspectd.detector.fit import golden_outline
from inspectd.detector.part_outline import fit_outline
from inspectd.detector.pose import fit_pose
from inspectd.detector.registration import grid_centre
from inspectd.detector.scoring import scores_and_maps
from inspectd.detector.search import patch_index
from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation import features_cache, harness
from inspectd.evaluation.command import parse_ints, settings_from_options
from inspectd.evaluation.dataset import draw_shots, load_category
from inspectd.evaluation.features_cache import FeatureCache
from inspectd.evaluation.metrics import auroc
from inspectd.images import read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NINE = ("mvtec_3d_rgb/tire", "mvtec_loco/juice_bottle", "mvtec_ad/screw", "visa/fryum", "kolektorsdd/commutator",
        "lookout_for_vision/cookies", "mpdd_resized512/metal_plate", "mvtec_ad/bottle", "magnetic_tile/magnetic_tile")


def flat_field(sigma_share: float):
    """A ``to_batch`` that flat-field corrects each frame first."""
    plain = features_module.to_batch

    def corrected(images, backbone):
        out = []
        for image in images:
            pixels = image.astype(np.float32)
            blur = cv2.GaussianBlur(pixels.mean(2), (0, 0), sigma_share * min(image.shape[:2]))
            out.append(np.clip(pixels * (blur.mean() / np.maximum(blur, 1.0))[:, :, None], 0, 255).astype(np.uint8))
        return plain(out, backbone)
    return corrected


def per_type(scores: np.ndarray, labels: np.ndarray, types: list[str]) -> dict[str, float]:
    kinds = np.array(types)
    return {kind: round(auroc(scores[(kinds == kind) | (labels == 0)], labels[(kinds == kind) | (labels == 0)]), 3)
            for kind in sorted(set(types)) if kind != "good"}


def types_probe(args) -> None:
    settings = settings_from_options(args.set) if args.set else DetectorSettings()
    if args.flat:
        for module in (features_cache, fit_module, detector_module):
            module.to_batch = flat_field(args.flat)
    category = load_category(DATA / args.category)
    cache = FeatureCache(settings, read_rgb(category.train_files[0]))
    labels = np.asarray(category.test_labels)
    for seed in parse_ints(args.seeds):
        seeded = replace(settings, seed=seed)
        goldens = [category.train_files[i] for i in draw_shots(len(category.train_files), args.shots, seed)]
        frames = [cache.golden_frame(path) for path in goldens]
        outline = golden_outline(frames, seeded)
        if fit_pose(frames, outline, seeded) is not None:
            scored = harness._score_aligned(goldens, seeded, category.test_images, True)
        else:
            scored = harness._score_patchcore(cache, goldens, seeded, outline, *cache.test(category.test_images),
                                              cache.test_frames(category.test_images), True)
        scores = scored.image_scores
        print(json.dumps({"category": args.category, "seed": seed, "image_auroc": round(auroc(scores, labels), 3),
                          "threshold": round(float(scored.threshold), 3),
                          "good_min_median_p90_max": np.round(np.quantile(scores[labels == 0], [0, .5, .9, 1]), 3).tolist(),
                          "defective_min_q1_median_max": np.round(np.quantile(scores[labels == 1], [0, .25, .5, 1]), 3).tolist(),
                          "per_type": per_type(scores, labels, category.test_types)}), flush=True)


def extent_probe(args) -> None:
    for name in NINE:
        category = load_category(DATA / name)
        for seed in (0, 1):
            goldens = [read_rgb(category.train_files[i]) for i in draw_shots(len(category.train_files), 4, seed)]
            height, width = goldens[0].shape[:2]
            goldens = np.stack([cv2.resize(image, (width, height)) for image in goldens])
            outline = fit_outline(goldens)
            if outline is None:
                print(json.dumps({"category": name, "seed": seed, "outline": None}))
                continue
            union = outline.outlines(goldens).any(0)
            rows, columns = np.nonzero(union)
            box = (rows.min() / height, rows.max() / height, columns.min() / width, columns.max() / width)
            tests = outline.outlines(np.stack([cv2.resize(image, (width, height)) for image in category.test_images]))
            outside = [(test & ~union).sum() / max(test.sum(), 1) for test in tests]
            print(json.dumps({"category": name, "seed": seed, "box_top_bottom_left_right": np.round(box, 2).tolist(),
                              "zoom": round(1 / max(box[1] - box[0], box[3] - box[2]), 2),
                              "test_outline_outside_max_p95": [round(max(outside), 3),
                                                               round(float(np.quantile(outside, .95)), 3)]}))


def scale_probe(args) -> None:
    settings = DetectorSettings()
    backbone = get_backbone(settings.backbone, settings.weights_path)
    category = load_category(DATA / args.category)
    labels = np.asarray(category.test_labels)
    first_height, first_width = read_rgb(category.train_files[0]).shape[:2]

    def featurized(frames: list[np.ndarray]) -> np.ndarray:
        return patch_features(backbone, to_batch(frames, backbone), settings.precision, settings.feature_norm_power)

    for seed in parse_ints(args.seeds):
        goldens = [read_rgb(category.train_files[i]) for i in draw_shots(len(category.train_files), args.shots, seed)]
        if args.mode == "fixed":
            def shape_of(image): return input_shape(first_height, first_width, settings.input_size)
        else:
            area = first_height * first_width if args.mode == "first" else np.mean([g.shape[0] * g.shape[1] for g in goldens])
            factor = settings.input_size / np.sqrt(area)

            def shape_of(image): return tuple(max(SHAPE_MULTIPLE, int(round(side * factor / SHAPE_MULTIPLE)) * SHAPE_MULTIPLE)
                                              for side in image.shape[:2])
        rows = []
        for golden in goldens:
            frame = resize_to(golden, shape_of(golden))
            copies = featurized(augmented_copies(frame, settings.augmentations))
            shown = copy_coverage(frame.shape[:2], settings.augmentations)
            centres = [np.clip(8 * np.arange(cells) + 4, 0, side - 1) for cells, side in zip(copies.shape[1:3], frame.shape[:2])]
            kept = copies[shown[:, centres[0]][:, :, centres[1]]]
            rows.append(kept[greedy_coreset(kept, settings.coreset, seed)])
        index = patch_index(np.concatenate(rows), settings.search)
        scores = []
        for image in category.test_images:
            frame = resize_to(image, shape_of(image))
            score, _ = scores_and_maps(index.patch_scores(featurized([frame])), frame.shape[:2], settings.map_sigma(),
                                       grid_centre(settings), settings.score_top_k)
            scores.append(float(score[0]))
        scores = np.array(scores)
        print(json.dumps({"category": args.category, "mode": args.mode, "shots": args.shots, "seed": seed,
                          "image_auroc": round(auroc(scores, labels), 3), "per_type": per_type(scores, labels, category.test_types)}),
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("probe", choices=("types", "extent", "scale"))
    parser.add_argument("--category", default="mvtec_3d_rgb/tire")
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--flat", type=float, default=0.0)
    parser.add_argument("--mode", choices=("fixed", "goldens", "first"), default="fixed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    {"types": types_probe, "extent": extent_probe, "scale": scale_probe}[args.probe](args)


if __name__ == "__main__":
    main()
