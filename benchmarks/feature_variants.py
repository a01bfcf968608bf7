"""Accuracy of feature, augmentation and distance variants of the default detector (docs/results.md, ablation).

    OMP_NUM_THREADS=1 python benchmarks/feature_variants.py --variant s4m \
        --categories kolektorsdd/commutator,mvtec_ad/screw,visa/fryum [--whiten 0.5] [--set coreset=0.25]

Variants change what the Lite0 backbone hands to the patch features (each stage is still 3x3-averaged
and the stride-16 stage resampled to the stride-8 grid, as in inspectd/detector/features.py):
- ``base``: the shipped stages (stride 8: block 4, 40 channels; stride 16: block 10, 112 channels);
- ``s4`` / ``s4m``: block 2's stride-4 output (24 channels) 3x3-averaged, then 2x2 average / max pooled
  onto the stride-8 grid and appended to the stride-8 stage (a finer stage for thin defects);
- ``x5``: block 5's 240-channel expansion (stride 8, before its strided depthwise conv) appended;
- ``s32``: blocks 11-14's stride-32 output (192 channels) resampled onto the stride-16 grid and appended
  to the stride-16 stage (coarser context);
- ``aligned``: both stages shifted (bilinear, before pooling) so that after the stride-16 stage's resize
  each cell of both describes input pixel ``8 j + 3.5``, the stages' own centres measured as
  ``inspectd/detector/registration.py`` does for the joint vector (shipped: the stride-16 stage looks at a
  point about 6 px above and left of the stride-8 stage's).
``--whiten A``: every patch vector is mapped through ``(x - mean) C^-1/2`` with ``C`` the covariance of
the golden copies' patches shrunk towards a multiple of the identity by ``A`` (a Mahalanobis-like
nearest-neighbour distance); ``--whiten -1`` only scales each channel to unit variance.
``--nuisance A``: every patch vector is mapped through ``(N + A t I)^-1/2`` (rescaled to keep its mean
length), with ``N`` the covariance of the change of one physical patch between each golden and its own
rotated and brightness-gain copies (the copy's grid sampled where the rotation took the patch) and ``t`` the
mean of N's eigenvalues: a distance measured in units of how much a patch changes under the augmentations
(the copies as the default set orders them: rotations, then gains).
``--border B``: each batch mirrored outwards by B pixels before the backbone and the patch grid cropped
back to the frame's cells, so edge cells are not read through zero padding.
``--mirrored-fill``: rotated copies keep the cells centred on their mirrored corners (the default before
2026-12-03 replaced none); ``--fill-reach R``: the default's rule widened to the cells within R px of the fill
(the probe of 2026-12-01 used 16; docs/results.md, "Rotated copies without their mirrored corners").
``--normalize K`` (with ``--set feature_norm_power=0``, on raw vectors) rescales patch vectors (see its help);
the length compression that became the default is ``--set feature_norm_power=P``.
Prints one JSON line per category, shot count and seed (default: 1 and 4 shots, seed 0): image and
pixel AUROC.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch
from torch.nn import functional

import inspectd_plugins.backbones.efficientnet_lite as lite
from inspectd.detector import fit
from inspectd.detector.augment import rotation_matrix
from inspectd.detector.backbone import FeatureBackbone
from inspectd.detector.detector import Detector
from inspectd.detector.embedder import embed
from inspectd.detector.features import to_batch
from inspectd.detector.fit import fit_memory, scoring_bank
from inspectd.detector.registration import STRIDE, dot_frames, grid_centre, response_centre
from inspectd.evaluation import features_cache
from inspectd.evaluation.command import parse_ints, settings_from_options
from inspectd.evaluation.dataset import draw_shots, load_category
from inspectd.evaluation.features_cache import FeatureCache
from inspectd.evaluation.metrics import auroc, pixel_auroc
from inspectd.images import read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def stage_centres(backbone) -> tuple[float, float]:
    """The input pixel cell 0 of the shipped stride-8 and stride-16 stages is centred on (registration.py's
    dot probe, on each raw stage)."""
    stages = FeatureBackbone.__call__(backbone, to_batch(dot_frames(), backbone))
    return tuple(response_centre((stage[1:] - stage[:1]).pow(2).sum(1).sqrt().numpy(), stride)
                 for stage, stride in zip(stages, (8, 16)))


def shifted(stage: torch.Tensor, cells: float) -> torch.Tensor:
    """``stage`` [B, C, h, w] resampled so that cell ``k`` holds what was at ``k + cells`` (edges repeated)."""
    def axis(count: int) -> torch.Tensor:
        return (torch.arange(count, dtype=torch.float32) + cells) * 2.0 / max(count - 1, 1) - 1.0

    ys, xs = torch.meshgrid(axis(stage.shape[-2]), axis(stage.shape[-1]), indexing="ij")
    grid = torch.stack([xs, ys], -1).expand(len(stage), *xs.shape, 2)
    return functional.grid_sample(stage, grid, mode="bilinear", padding_mode="border", align_corners=True)


def aligned_call() -> Callable:
    """A ``__call__`` for EfficientNetLite0 (the ``aligned`` variant): the shipped stages, shifted."""
    centres: list[tuple[float, float]] = []

    def call(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not centres:
            centres.append(stage_centres(self))
        (centre8, centre16), (stride8, stride16) = centres[0], FeatureBackbone.__call__(self, batch)
        # patch_features then resizes the stride-16 stage, its cell j reading cell j / 2 - 0.25
        return shifted(stride8, (3.5 - centre8) / 8), shifted(stride16, (3.5 - centre16) / 16 + 0.25)
    return call


def variant_extract(variant: str) -> Callable:
    """An ``extract`` for EfficientNetLite0 returning the variant's (stride-8, stride-16) maps."""
    def extract(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        net = self.net
        h = functional.relu6(net._bn0(net._conv_stem(batch)))
        for i, block in enumerate(net._blocks[:net.stride16_block + 1]):
            if i == 5:
                expansion = functional.relu6(block._bn0(block._expand_conv(h)))
            h = block(h)
            if i == 2:
                stride4 = functional.avg_pool2d(h, 3, stride=1, padding=1)
            if i == net.stride8_block:
                stride8 = h
        if variant == "s32":  # blocks 11-14 (stride 32, 192 channels) resampled onto the stride-16 grid
            deep = h
            for block in net._blocks[net.stride16_block + 1:net.stride16_block + 5]:
                deep = block(deep)
            deep = functional.interpolate(deep, size=h.shape[-2:], mode="bilinear", align_corners=False)
            return stride8, torch.cat([h, deep], 1)
        extra = {"base": None, "x5": expansion, "s4": functional.avg_pool2d(stride4, 2),
                 "s4m": functional.max_pool2d(stride4, 2)}[variant]
        return (stride8 if extra is None else torch.cat([stride8, extra], 1)), h
    return extract


def whitening(patches: np.ndarray, shrink: float) -> Callable[[np.ndarray], np.ndarray]:
    mean = patches.mean(0)
    covariance = np.cov(patches - mean, rowvar=False)
    if shrink < 0:
        transform = np.diag(1.0 / np.sqrt(np.diag(covariance) + 1e-6))
    else:
        scale = np.trace(covariance) / len(covariance)
        values, vectors = np.linalg.eigh((1 - shrink) * covariance + shrink * scale * np.eye(len(covariance)))
        transform = (vectors / np.sqrt(values)) @ vectors.T * np.sqrt(scale)
    return lambda features: ((features - mean) @ transform).astype(np.float32)


def nuisance_changes(copies: np.ndarray, shape: tuple[int, int], angles: tuple[float, ...], centre: float) -> np.ndarray:
    """One golden's copies [n, h, w, D] (the image, its rotations by ``angles[1:]``, then gain copies) -> [m, D]:
    each copy's patch vector minus the image's at the same physical point (inner cells only)."""
    _, height, width, dim = copies.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    pixel_x, pixel_y = STRIDE * xs + centre, STRIDE * ys + centre
    inner = (xs >= 1) & (xs <= width - 2) & (ys >= 1) & (ys <= height - 2)
    changes = []
    for k, angle in enumerate(angles[1:], start=1):
        matrix = rotation_matrix(shape, angle)
        cell_x = (matrix[0, 0] * pixel_x + matrix[0, 1] * pixel_y + matrix[0, 2] - centre) / STRIDE
        cell_y = (matrix[1, 0] * pixel_x + matrix[1, 1] * pixel_y + matrix[1, 2] - centre) / STRIDE
        valid = inner & (cell_x >= 1) & (cell_x <= width - 2) & (cell_y >= 1) & (cell_y <= height - 2)
        grid = torch.from_numpy(np.stack([cell_x / (width - 1), cell_y / (height - 1)], -1) * 2 - 1).float()[None]
        moved = functional.grid_sample(torch.from_numpy(copies[k]).permute(2, 0, 1)[None], grid, align_corners=True)
        changes.append((moved[0].permute(1, 2, 0).numpy() - copies[0])[valid])
    changes += [(copy - copies[0]).reshape(-1, dim) for copy in copies[len(angles):]]
    return np.concatenate(changes)


def nuisance_whitening(changes: np.ndarray, shrink: float) -> Callable[[np.ndarray], np.ndarray]:
    covariance = changes.T.astype(np.float64) @ changes / len(changes) / 2
    ridge = shrink * np.trace(covariance) / len(covariance)
    values, vectors = np.linalg.eigh(covariance + ridge * np.eye(len(covariance)))
    transform = ((vectors / np.sqrt(values)) @ vectors.T * np.sqrt(np.trace(covariance) / len(covariance) + ridge))
    transform = transform.astype(np.float32)
    return lambda features: np.ascontiguousarray(features @ transform)


def bordered(features_of: Callable, border: int) -> Callable:
    """``features_of`` (``features.patch_features``) on each batch mirrored outwards by ``border`` pixels, the
    grid cropped back to the frame's cells."""
    def patch_features(backbone, batch, precision="float32", norm_power=0.0):
        width = batch.shape[-1]
        grid = features_of(backbone, functional.pad(batch, (border,) * 4, mode="reflect"), precision, norm_power)
        cells = border * grid.shape[2] // (width + 2 * border)
        return np.ascontiguousarray(grid[:, cells:grid.shape[1] - cells, cells:grid.shape[2] - cells])
    return patch_features


def without_seams(copies: np.ndarray, augmentations, margin: int = 3) -> np.ndarray:
    """A golden's copies with the cells of each shifted copy that see its mirrored strip (the strip and ``margin``
    cells beyond it) replaced by the image's own cells there: the shifted copies then add only what they are
    for, interior content meeting the frame's edge, and no mirror seam the parts never show."""
    copies = copies.copy()
    first = len(augmentations.angles()) * (1 + augmentations.hflip) * (1 + augmentations.vflip)
    for k, offset in enumerate(augmentations.shifts):
        cells = abs(offset) // STRIDE + margin
        for axis, index in ((2, first + 2 * k), (1, first + 2 * k + 1)):  # shifted along x, then along y
            strip = [slice(None)] * 3
            strip[axis - 1] = slice(0, cells) if offset > 0 else slice(copies.shape[axis] - cells, None)
            copies[index][tuple(strip)] = copies[0][tuple(strip)]
    return copies


def widened_coverage(coverage: Callable, reach: int) -> Callable:
    """``augment.copy_coverage`` with each copy's covered pixels eroded by ``reach`` px: the cells that see the
    mirrored fill within that distance count as filled too."""
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)

    def widened(shape: tuple[int, int], augmentations) -> np.ndarray:
        return np.stack([cv2.erode(copy.astype(np.uint8), kernel) for copy in coverage(shape, augmentations)]) > 0
    return widened


def normalizer(kind: str, stage_dims: tuple[int, ...], reference: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """[n, h, w, D] -> the same shape, each patch vector normalised per ``kind`` (see --normalize);
    ``reference``: golden features that fix the per-stage scales of ``balance``."""
    bounds = np.cumsum(stage_dims)[:-1]
    scales = [np.linalg.norm(p, axis=-1).mean() for p in np.split(reference, bounds, axis=-1)]

    def normalize(features: np.ndarray) -> np.ndarray:
        if kind == "ssqrt":  # elementwise signed square root (power normalisation)
            return (np.sign(features) * np.sqrt(np.abs(features))).astype(np.float32)
        if kind == "center":
            return (features - features.mean(axis=(1, 2), keepdims=True)).astype(np.float32)
        parts = np.split(features, bounds, axis=-1)
        if kind == "balance":
            parts = [p / s for p, s in zip(parts, scales)]
        else:  # l2s8, l2s16: that one stage to unit length
            unit = {"l2s8": 0, "l2s16": 1}[kind]
            parts[unit] = parts[unit] / (np.linalg.norm(parts[unit], axis=-1, keepdims=True) + 1e-6)
        return np.concatenate(parts, -1).astype(np.float32)
    return normalize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="base", choices=("base", "s4", "s4m", "x5", "s32", "aligned"))
    parser.add_argument("--categories", required=True, help="comma-separated, under --data")
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding the categories")
    parser.add_argument("--whiten", type=float, default=None)
    parser.add_argument("--nuisance", type=float, default=None, help="shrinkage A of the nuisance whitening")
    parser.add_argument("--border", type=int, default=0, help="pixels (a multiple of 16) of mirrored border")
    parser.add_argument("--seamless", action="store_true", help="shifted copies without their mirror seams")
    parser.add_argument("--mirrored-fill", action="store_true", help="rotated copies keep their mirrored corners")
    parser.add_argument("--fill-reach", type=int, default=0, help="px round the mirrored fill that count as fill")
    parser.add_argument("--normalize", choices=("l2s8", "l2s16", "balance", "ssqrt", "center"), default=None,
                        help="on features taken with --set feature_norm_power=0: l2s8 / l2s16: that stage's "
                             "part of a patch vector scaled to unit length; balance: each stage divided by its "
                             "mean length over the first golden's copies; center: each image's mean patch vector "
                             "subtracted; ssqrt: sign(x) sqrt(|x|) per value")
    parser.add_argument("--shots", default="1,4", help="comma-separated golden counts")
    parser.add_argument("--seeds", default="0", help="comma-separated draws (METHOD.md section 6)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="KEY=VALUE detector setting")
    args = parser.parse_args()
    if args.variant == "aligned":
        lite.EfficientNetLite0.__call__ = aligned_call()
    else:
        lite.EfficientNetLite0.extract = variant_extract(args.variant)  # before the backbone is built
    settings = settings_from_options(args.overrides)
    if args.mirrored_fill:
        fit.replace_mirrored_fill = lambda copies, filled: None
    elif args.fill_reach:
        fit.copy_coverage = widened_coverage(fit.copy_coverage, args.fill_reach)
    if args.border:
        features_cache.patch_features = bordered(features_cache.patch_features, args.border)
    for name in args.categories.split(","):
        category = load_category(args.data / name)
        cache = FeatureCache(settings, read_rgb(category.train_files[0]))
        test, _ = cache.test(category.test_images)
        for shots, seed in itertools.product(parse_ints(args.shots), parse_ints(args.seeds)):
            goldens = [category.train_files[i] for i in draw_shots(len(category.train_files), shots, seed)]
            transform = lambda features: features  # noqa: E731
            if args.whiten is not None:
                copies = np.concatenate([cache.golden(path, settings.augmentations)[0] for path in goldens])
                rows = copies.reshape(-1, copies.shape[-1])
                sample = rows[np.random.default_rng(0).choice(len(rows), min(len(rows), 50_000), replace=False)]
                transform = whitening(sample.astype(np.float64), args.whiten)
            if args.nuisance is not None:
                changes = np.concatenate([nuisance_changes(cache.golden(path, settings.augmentations)[0], cache.shape,
                                                           settings.augmentations.angles(), grid_centre(settings))
                                          for path in goldens])
                transform = nuisance_whitening(changes, args.nuisance)
            if args.normalize is not None:
                transform = normalizer(args.normalize, tuple(cache.backbone.channels),
                                       cache.golden(goldens[0], settings.augmentations)[0])
            def featurize(i: int, augmentations, transform=transform) -> np.ndarray:
                copies = cache.golden(goldens[i], augmentations)[0]
                if args.seamless and augmentations == settings.augmentations:
                    copies = without_seams(copies, augmentations)
                return embed(transform(copies), settings.embedder)

            fitted = fit_memory(featurize, shots, replace(settings, seed=seed), cache.shape)
            scores, maps = Detector(scoring_bank(fitted, settings, shots)).score_maps(
                embed(transform(test), settings.embedder), {})
            print(json.dumps({"variant": args.variant, "whiten": args.whiten, "nuisance": args.nuisance,
                              "border": args.border, "normalize": args.normalize,
                              "set": args.overrides, "category": name, "shots": shots, "seed": seed,
                              "image_auroc": round(auroc(scores, category.test_labels), 4),
                              "pixel_auroc": pixel_auroc(maps, category.test_masks)}), flush=True)


if __name__ == "__main__":
    main()
