"""``inspectd eval``: K-shot runs over categories, seeds and methods (METHOD.md section 6)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from inspectd.detector.calibration import HALF_STRIDE_COPIES, threshold_from_scores
from inspectd.detector.detector import Detector
from inspectd.detector.embedder import embed
from inspectd.detector.fit import fit_bank, fit_memory, golden_outline, outline_entry, scoring_bank, with_structure
from inspectd.detector.part_outline import PartOutline
from inspectd.detector.pose import fit_pose
from inspectd.detector.registration import grid_centre
from inspectd.detector.scoring import scores_and_maps
from inspectd.detector.settings import PLAIN_PATCHCORE, AugmentationSet, DetectorSettings
from inspectd.evaluation.dataset import Category, draws_by_input_shape, load_category
from inspectd.evaluation.features_cache import FeatureCache
from inspectd.evaluation.metrics import auroc, escape_at_false_reject, escape_rate, false_reject_rate, pixel_auroc
from inspectd.evaluation.padim import Padim
from inspectd.evaluation.simplenet import SimpleNet
from inspectd.images import read_rgb

METHODS = ("graphcore", "patchcore", "padim", "simplenet")
ALIGNED_BATCH = 16  # test frames per Detector.inspect call in a pose-aligned run


class PatchModel(Protocol):
    def patch_scores(self, features: np.ndarray) -> np.ndarray: ...


# baselines scored by ``_score_patch_model``: golden patch features [N, h, w, D] and the seed -> a fitted model
PATCH_MODELS: dict[str, Callable[[np.ndarray, int], PatchModel]] = {
    "padim": lambda features, seed: Padim(features),
    "simplenet": SimpleNet,
}


@dataclass
class EvalResult:
    category: str
    method: str
    shots: int
    seed: int
    image_auroc: float
    pixel_auroc: float | None
    false_reject_rate: float
    escape_rate: float
    fit_seconds: float
    ms_per_image: float
    # escape rate at the threshold rejecting 5 % of the test goods: what any threshold rule could reach
    # with these scores at the false-reject target (None in rows written before it was recorded)
    escape_at_5pct_false_reject: float | None = None
    # test images the verdict fails only because the presence check did (score at or below the threshold);
    # the two rates above count them (None: a method without the check, or a row written before it)
    failed_by_presence_only: int | None = None


@dataclass
class _Scored:
    image_scores: np.ndarray
    maps: np.ndarray
    threshold: float
    fit_seconds: float
    ms_per_image: float  # features and scoring
    part_missing: np.ndarray | None = None  # [N] bool, the presence check's; None without one


def method_settings(method: str, base: DetectorSettings) -> DetectorSettings:
    """graphcore: the given settings; the baselines (patchcore, padim, simplenet): raw patch vectors, no augmentation,
    no graph embedder, no part outline, no pose alignment."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    if method == "graphcore":
        return base
    return replace(base, augmentations=PLAIN_PATCHCORE.augmentations, embedder=PLAIN_PATCHCORE.embedder,
                   feature_norm_power=PLAIN_PATCHCORE.feature_norm_power, part_outline=PLAIN_PATCHCORE.part_outline,
                   pose=PLAIN_PATCHCORE.pose, layout=PLAIN_PATCHCORE.layout)


def evaluate(data_dirs: list[Path], shots: list[int], seeds: list[int], method: str,
             base: DetectorSettings, progress: Callable[[EvalResult], None] = lambda r: None) -> list[EvalResult]:
    settings = method_settings(method, base)
    results = []
    for data_dir in data_dirs:
        category = load_category(data_dir)
        rows = []
        for shape, draws in draws_by_input_shape(category, shots, seeds, settings):
            cache = FeatureCache(settings, shape=shape)  # the input shape fit_bank gives these goldens
            for draw in draws:
                result = _run_one(category, cache, draw.goldens, method, replace(settings, seed=draw.seed),
                                  draw.shots, draw.seed)
                progress(result)
                rows.append(result)
        results += sorted(rows, key=lambda row: (row.shots, row.seed))
    return results


def _run_one(category: Category, cache: FeatureCache, goldens: list[Path], method: str,
             settings: DetectorSettings, shot_count: int, seed: int) -> EvalResult:
    presence_check = method == "graphcore"  # the baselines' verdict is their score alone, the default's the daemon's
    if method in PATCH_MODELS:
        scored = _score_patch_model(PATCH_MODELS[method], cache, goldens, settings, *cache.test(category.test_images))
    else:
        frames = [cache.golden_frame(path) for path in goldens]
        outline = golden_outline(frames, settings)  # fitted once: it decides the path and cuts the maps
        if fit_pose(frames, outline, settings) is not None:
            scored = _score_aligned(goldens, settings, category.test_images, presence_check)
        else:
            scored = _score_patchcore(cache, goldens, settings, outline, *cache.test(category.test_images),
                                      cache.test_frames(category.test_images), presence_check)
    labels, missing = category.test_labels, scored.part_missing
    return EvalResult(
        category=category.name, method=method, shots=shot_count, seed=seed,
        image_auroc=auroc(scored.image_scores, labels),
        pixel_auroc=pixel_auroc(scored.maps, category.test_masks),
        false_reject_rate=false_reject_rate(scored.image_scores, labels, scored.threshold, missing),
        escape_rate=escape_rate(scored.image_scores, labels, scored.threshold, missing),
        escape_at_5pct_false_reject=escape_at_false_reject(scored.image_scores, labels, 0.05),
        fit_seconds=scored.fit_seconds, ms_per_image=scored.ms_per_image,
        failed_by_presence_only=None if missing is None else int(
            (missing & (scored.image_scores <= scored.threshold)).sum()))


def _score_patchcore(cache: FeatureCache, goldens: list[Path], settings: DetectorSettings, outline: PartOutline | None,
                     test_raw: np.ndarray, extract_ms: float, test_frames: list[np.ndarray],
                     presence_check: bool) -> _Scored:
    extraction_seconds = 0.0

    def featurize(index: int, augmentations: AugmentationSet) -> np.ndarray:
        nonlocal extraction_seconds
        raw, seconds = cache.golden(goldens[index], augmentations)
        extraction_seconds += seconds
        return embed(raw, settings.embedder)

    started = time.perf_counter()
    fitted, structure = with_structure(fit_memory(featurize, len(goldens), settings, cache.shape), settings, outline,
                                       None)
    fit_seconds = time.perf_counter() - started + extraction_seconds
    detector = Detector(scoring_bank(fitted, settings, len(goldens), outline_entry(outline, settings), structure),
                        presence_check=presence_check)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    features = embed(test_raw, settings.embedder)
    scores, maps = detector.score_maps(features, timings)
    maps, _ = detector.outlined(maps, test_frames)
    missing = detector.part_missing(features) if presence_check else None
    scoring_ms = (time.perf_counter() - started) * 1000.0 / len(test_raw)
    return _Scored(scores, maps, fitted.threshold, fit_seconds, extract_ms + scoring_ms, missing)


def _score_aligned(goldens: list[Path], settings: DetectorSettings, test_images: list[np.ndarray],
                   presence_check: bool) -> _Scored:
    """A pose-aligned fit (detector/pose.py), fitted and scored as the daemon does: each frame's crop follows the
    outline learnt from the goldens, so no golden or test feature can come from the cache."""
    started = time.perf_counter()
    bank = fit_bank([read_rgb(path) for path in goldens], settings)
    fit_seconds = time.perf_counter() - started
    detector = Detector(bank, presence_check=presence_check)
    started = time.perf_counter()
    inspections = [inspection for start in range(0, len(test_images), ALIGNED_BATCH)
                   for inspection in detector.inspect(test_images[start:start + ALIGNED_BATCH])]
    ms_per_image = (time.perf_counter() - started) * 1000.0 / len(test_images)
    missing = np.array([i.part_missing for i in inspections]) if presence_check else None
    return _Scored(np.array([i.image_score for i in inspections]), np.stack([i.anomaly_map for i in inspections]),
                   bank.threshold, fit_seconds, ms_per_image, missing)


def _score_patch_model(make_model: Callable[[np.ndarray, int], PatchModel], cache: FeatureCache, goldens: list[Path],
                       settings: DetectorSettings, test_raw: np.ndarray, extract_ms: float) -> _Scored:
    """A baseline fitted on the goldens' raw patch features; its threshold from hold-out scores: each golden scored
    by the model fitted on the others, or with one golden its half-stride-shifted copy."""
    started = time.perf_counter()
    golden_raw = [cache.golden(path, settings.augmentations) for path in goldens]
    features = np.concatenate([raw for raw, _ in golden_raw])

    def image_level(model: PatchModel, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return scores_and_maps(model.patch_scores(batch), cache.shape, settings.map_sigma(), grid_centre(settings),
                               settings.score_top_k, settings.roi)

    model = make_model(features, settings.seed)
    if len(features) > 1:
        holdout = np.concatenate([image_level(make_model(np.delete(features, i, axis=0), settings.seed),
                                              features[i:i + 1])[0] for i in range(len(features))])
    else:
        shifted, _ = cache.golden(goldens[0], HALF_STRIDE_COPIES)
        holdout = image_level(model, shifted[1:])[0]
    fit_seconds = time.perf_counter() - started + sum(seconds for _, seconds in golden_raw)
    started = time.perf_counter()
    scores, maps = image_level(model, test_raw)
    scoring_ms = (time.perf_counter() - started) * 1000.0 / len(test_raw)
    return _Scored(scores, maps, threshold_from_scores(holdout, settings.target_false_reject), fit_seconds,
                   extract_ms + scoring_ms)
