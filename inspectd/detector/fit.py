"""Fitting a bank from golden images: augmented copies -> features -> per-group coresets -> threshold."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

import inspectd
from inspectd.detector.augment import augmented_copies, copy_coverage
from inspectd.detector.backbone import FeatureBackbone, get_backbone
from inspectd.detector.bank import FORMAT_VERSION, Bank
from inspectd.detector.calibration import (HALF_STRIDE_COPIES, expected_false_reject, grid_scores, holdout_groups,
                                           leave_one_group_out_grids, threshold_from_scores)
from inspectd.detector.coreset import greedy_coreset
from inspectd.detector.embedder import embed
from inspectd.detector.features import input_shape, patch_features, resize_to, to_batch
from inspectd.detector.part_outline import PartOutline, fit_outline
from inspectd.detector.layout import MIN_GOLDENS, fit_structure
from inspectd.detector.pose import PoseAlignment, aligned_augmentations, fit_pose
from inspectd.detector.presence import presence_calibration
from inspectd.detector.registration import STRIDE, grid_centre
from inspectd.detector.settings import AugmentationSet, DetectorSettings
from inspectd.progress import Progress, no_progress

# featurize(golden_index, augmentations) -> embedded features of that golden's copies [n, h, w, D]; fit_memory
# changes a writeable result in place (a read-only one, a cache's, it copies first)
Featurize = Callable[[int, AugmentationSet], np.ndarray]


@dataclass(frozen=True)
class MemoryFit:
    memory: np.ndarray
    row_groups: np.ndarray  # hold-out group of each memory row (-1: a single-group fit)
    holdout_features: np.ndarray  # what each hold-out group scores [G, h, w, D]
    holdout_grids: np.ndarray  # their patch scores against the other groups' rows [G, h, w] (the layout reuses them)
    threshold: float
    calibration: dict
    presence: dict  # the part presence check's threshold and its inputs (detector/presence.py)
    # [K, 1 + gains, h, w, D]: each golden's own copy and its brightness-gain copies (None where the structural
    # check cannot apply: fewer than MIN_GOLDENS goldens, or ``layout: off``)
    layout_features: np.ndarray | None
    copies: int
    patches: int
    input_shape: tuple[int, int]
    # [K, h, w] 1 for each golden's patch-grid cells that lie on its frame, 0 for those a pose-aligned crop takes from
    # beyond the frame's edge (mirrored in; inspection never scores them); None: every cell counts
    scored_cells: np.ndarray | None = None


def image_featurizer(input_frames: list[np.ndarray], settings: DetectorSettings,
                     backbone: FeatureBackbone) -> Featurize:
    """Featurize over golden frames already at the bank's input shape (``Detector.input_frames``, ``fit_inputs``)."""
    def featurize(index: int, augmentations: AugmentationSet) -> np.ndarray:
        batch = to_batch(augmented_copies(input_frames[index], augmentations), backbone)
        return embed(patch_features(backbone, batch, settings.precision, settings.feature_norm_power),
                     settings.embedder)
    return featurize


# goldens whose aspect ratios (width / height) differ by more than this factor show frames of no fixed shape (tiles
# cut to size): frames are then squashed to a square, which distorts them less than one golden's aspect would
ASPECT_SPREAD = 1.05


def golden_input_shape(golden_images: list[np.ndarray], settings: DetectorSettings) -> tuple[int, int]:
    """The shape frames are resized to: the first golden image's aspect ratio (frames of a product share one),
    or a square where the goldens' aspects differ (``squares_frames``)."""
    height, width = golden_images[0].shape[:2]
    return input_shape(height, width, settings.input_size,
                       settings.keep_aspect and not squares_frames(golden_images, settings))


def squares_frames(golden_images: list[np.ndarray], settings: DetectorSettings) -> bool:
    """Whether frames that would keep their aspect are squared instead, because the goldens' aspect ratios differ
    by more than ``ASPECT_SPREAD``."""
    aspects = [image.shape[1] / image.shape[0] for image in golden_images]
    return settings.keep_aspect and max(aspects) > ASPECT_SPREAD * min(aspects)


@dataclass(frozen=True)
class FitInputs:
    """What a fit featurizes: the goldens at the backbone's input shape, the settings whose copies they get, and
    the pose alignment that made them (None: the goldens resized whole)."""
    frames: list[np.ndarray]  # each golden resized whole, at golden_input_shape (the part outline's frames)
    inputs: list[np.ndarray]  # what the backbone sees: the frames, or their pose-aligned crops
    settings: DetectorSettings
    outline: PartOutline | None  # golden_outline of the frames
    pose: PoseAlignment | None
    placements: np.ndarray | None = None  # [K, 2, 3] where the pose alignment placed each golden's crop

    def scored_cells(self, grid: tuple[int, int]) -> np.ndarray | None:
        """[K, h, w] each golden's patch-grid cells on its frame (``PoseAlignment.cells_on_frame``); None: whole
        frames, where every cell is."""
        return None if self.pose is None else self.pose.cells_on_frame(self.placements, grid)


def fit_inputs(golden_images: list[np.ndarray], settings: DetectorSettings) -> FitInputs:
    shape = golden_input_shape(golden_images, settings)
    frames = [resize_to(image, shape) for image in golden_images]
    outline = golden_outline(frames, settings)
    pose = fit_pose(frames, outline, settings)
    if pose is None:
        return FitInputs(frames, frames, settings, outline, None)
    placements = pose.placements(frames)
    inputs = pose.crops(golden_images, placements)
    aligned = aligned_augmentations(settings.augmentations, pose.rotations)
    return FitInputs(frames, inputs, replace(settings, augmentations=aligned), outline, pose, placements)


def mirrored_cells(settings: DetectorSettings, shape: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """[copies, h, w] bool: the patch-grid cells of each augmented copy of a frame of ``shape`` whose centre pixel
    (registration.grid_centre) its rotation, shift or zoom filled by mirroring."""
    centre = grid_centre(settings)
    rows, columns = (np.clip(np.round(STRIDE * np.arange(cells) + centre), 0, side - 1).astype(int)
                     for cells, side in zip(grid, shape))
    return ~copy_coverage(shape, settings.augmentations)[:, rows][:, :, columns]


def replace_mirrored_fill(copies: np.ndarray, filled: np.ndarray) -> None:
    """One golden's copies' features [n, h, w, D], in place: each ``filled`` cell replaced by the golden's own cell
    there (copy 0; a duplicate, which the coreset never keeps twice). A mirrored corner shows what no real frame
    does (seams, the part's rim folded back on itself), and the greedy coreset favours such content because it
    lies far from the rest (docs/results.md, "Mirrored corners out of the bank")."""
    if filled.any():
        copies[filled] = np.broadcast_to(copies[:1], copies.shape)[filled]


def mirrored_twins(filled: np.ndarray, members: np.ndarray) -> np.ndarray | None:
    """``greedy_coreset``'s twins for a hold-out group's rows (copies ``members`` of one golden, numbered as
    ``filled`` [copies, h, w] numbers them, copy-major): each mirrored cell holds the golden's own cell
    (``replace_mirrored_fill``), which is the group's row there when the group starts with copy 0; None where
    it does not (a single golden's pose groups)."""
    if members[0] != 0 or not filled[members].any():
        return None
    cells = filled[0].size
    twins = np.arange(len(members) * cells)
    mirrored = filled[members].reshape(-1)
    twins[mirrored] = np.tile(np.arange(cells), len(members))[mirrored]
    return twins


def fit_memory(featurize: Featurize, n_goldens: int, settings: DetectorSettings,
               shape: tuple[int, int] | None = None, progress: Progress = no_progress,
               scored_cells: Callable[[tuple[int, int]], np.ndarray] | None = None) -> MemoryFit:
    """Bank memory and threshold, from features only (``eval`` passes cached features here).

    ``shape``: the input shape the features were extracted at (default input_size x input_size).
    ``progress``: told of the stages, featurize (per golden), coreset (per hold-out group) and calibration.
    ``scored_cells``: patch grid (h, w) -> [K, h, w] the cells of each golden that count in its hold-out score, as
    inspection counts them (``FitInputs.scored_cells``); None: all.
    """
    shape = tuple(shape) if shape is not None else (settings.input_size, settings.input_size)
    golden_copies = []  # one array per golden, never concatenated (first-touch pages of 200 MB cost 0.3 s)
    progress("featurize", 0, n_goldens)
    for index in range(n_goldens):
        features = featurize(index, settings.augmentations)
        golden_copies.append(features if features.flags.writeable else features.copy())
        progress("featurize", index + 1, n_goldens)
    per_golden, grid, dim = len(golden_copies[0]), golden_copies[0].shape[1:3], golden_copies[0].shape[-1]
    filled = mirrored_cells(settings, shape, grid)
    for features in golden_copies:
        replace_mirrored_fill(features, filled)
    groups = holdout_groups(n_goldens, per_golden, len(settings.augmentations.gains))
    group_ids, first_copies = np.unique(groups, return_index=True)
    per_group_target = settings.coreset
    if isinstance(settings.coreset, int):
        per_group_target = max(1, settings.coreset // len(group_ids))
    memory_parts = []
    progress("coreset", 0, len(group_ids))
    for group in group_ids:
        members = np.flatnonzero(groups == group)
        rows = _group_rows(golden_copies, members).reshape(-1, dim)
        twins = mirrored_twins(filled, members % per_golden)
        memory_parts.append(rows[greedy_coreset(rows, per_group_target, settings.seed + int(group), twins)])
        progress("coreset", len(memory_parts), len(group_ids))
    memory = np.concatenate(memory_parts)
    progress("calibration", 0, 1)
    if len(group_ids) == 1:  # one golden, one pose: copies shifted by half a stride against all rows
        row_groups = np.full(len(memory), -1, np.int32)
        holdout_features = featurize(0, HALF_STRIDE_COPIES)[1:]
    else:  # each golden's original (K >= 2), or each pose (K = 1), against the other groups' rows
        row_groups = np.repeat(group_ids, [len(part) for part in memory_parts]).astype(np.int32)
        holdout_features = np.concatenate([_group_rows(golden_copies, first_copies[g:g + 1])
                                           for g in range(len(group_ids))])
    holdout_grids = leave_one_group_out_grids(memory, row_groups, holdout_features, settings.search)
    cells = None if scored_cells is None or n_goldens < 2 else scored_cells(grid)
    if cells is not None:
        holdout_grids = holdout_grids * cells
    holdout_scores = grid_scores(holdout_grids, settings, shape)
    calibration = {
        "method": "leave-one-group-out" if len(group_ids) > 1 else "half-stride-shift",
        "groups": "golden images" if n_goldens > 1 else "augmented copies",
        "holdout_scores": [round(float(s), 6) for s in holdout_scores],
        "target_false_reject": settings.target_false_reject,
        # poses of a single golden are not exchangeable with new parts (measured 0.00-0.51 per category)
        "expected_false_reject": (round(expected_false_reject(len(holdout_scores), settings.target_false_reject), 4)
                                  if n_goldens > 1 else None),
    }
    threshold = threshold_from_scores(holdout_scores, settings.target_false_reject)
    holdout_features = np.ascontiguousarray(holdout_features, dtype=np.float32)
    presence = presence_calibration(memory, row_groups, holdout_features)
    progress("calibration", 1, 1)
    layout_features = None
    if n_goldens >= MIN_GOLDENS and settings.layout != "off":  # gain copies last per golden (holdout_groups)
        gains = len(settings.augmentations.gains)
        own = np.r_[0, np.arange(per_golden - gains, per_golden)]
        layout_features = np.stack([features[own] for features in golden_copies]).astype(np.float16)
    return MemoryFit(memory, row_groups, holdout_features, holdout_grids, threshold, calibration, presence,
                     layout_features,
                     n_goldens * per_golden, n_goldens * per_golden * grid[0] * grid[1], shape, cells)


def _group_rows(golden_copies: list[np.ndarray], members: np.ndarray) -> np.ndarray:
    """The copies ``members`` (numbered golden by golden; all of one golden, as every hold-out group's are) [n, h, w,
    D]: a view where they are consecutive (a golden's whole group), else a gathered copy (a single golden's poses)."""
    golden, own = np.divmod(members, len(golden_copies[0]))
    features = golden_copies[golden[0]]
    if np.array_equal(own, np.arange(own[0], own[0] + len(own))):
        return features[own[0]:own[0] + len(own)]
    return features[own]


def golden_outline(golden_frames: list[np.ndarray], settings: DetectorSettings) -> PartOutline | None:
    """The goldens' background model (RGB uint8 frames at golden_input_shape; part_outline.py), fitted once for
    both the map's outline and the pose alignment; None where the settings use neither or the goldens show no
    part on a background."""
    if settings.part_outline == "off" and settings.pose == "off":
        return None
    return fit_outline(np.stack(golden_frames))


def outline_entry(outline: PartOutline | None, settings: DetectorSettings) -> dict | None:
    """The manifest's ``part_outline``: the goldens' ``golden_outline``, or None where the settings turn the map's
    outline off or there is none."""
    return None if outline is None or settings.part_outline == "off" else outline.to_dict()


def scoring_bank(fitted: MemoryFit, settings: DetectorSettings, golden_count: int,
                 part_outline: dict | None = None, structure: dict | None = None) -> Bank:
    """A bank straight from a memory fit, with the manifest fields that scoring and feedback read (eval
    and benchmarks score it in memory; ``fit_bank`` writes the full manifest for a stored bank)."""
    return Bank(memory=fitted.memory, row_groups=fitted.row_groups, holdout_features=fitted.holdout_features,
                manifest={"settings": settings.to_dict(), "input_shape": list(fitted.input_shape),
                          "threshold": fitted.threshold, "calibration": fitted.calibration,
                          "presence": fitted.presence, "counts": {"images": golden_count},
                          "part_outline": part_outline, "structure": structure},
                layout_features=None if structure is None else fitted.layout_features)


def fit_bank(golden_images: list[np.ndarray], settings: DetectorSettings | None = None,
             backbone: FeatureBackbone | None = None, progress: Progress = no_progress) -> Bank:
    """Fit a bank from golden images (HxWx3 uint8 RGB, any size); ``backbone``: the settings' by default;
    ``progress``: see ``fit_memory``."""
    settings = settings or DetectorSettings()
    if not golden_images:
        raise ValueError("fit_bank needs at least one golden image")
    started = time.perf_counter()
    backbone = backbone or get_backbone(settings.backbone, settings.weights_path)
    fit = fit_inputs(golden_images, settings)
    shape = fit.inputs[0].shape[:2]
    fitted = fit_memory(image_featurizer(fit.inputs, fit.settings, backbone), len(golden_images), fit.settings, shape,
                        progress, fit.scored_cells)
    fitted, structure = with_structure(fitted, fit.settings, fit.outline, fit.pose)
    outline = outline_entry(fit.outline, fit.settings)
    manifest = build_manifest(fit.settings, backbone, fitted, golden_images, time.perf_counter() - started, outline,
                              fit.pose, structure)
    return Bank(memory=fitted.memory, manifest=manifest, row_groups=fitted.row_groups,
                holdout_features=fitted.holdout_features,
                layout_features=None if structure is None else fitted.layout_features)


def with_structure(fitted: MemoryFit, settings: DetectorSettings, outline: PartOutline | None,
                   pose: PoseAlignment | None) -> tuple[MemoryFit, dict | None]:
    """The fit with the structural check's threshold and the manifest's ``structure`` block where the settings and the
    goldens call for the check (detector/layout.py); else the fit unchanged and None."""
    if (settings.layout == "off" or fitted.layout_features is None or len(fitted.layout_features) < MIN_GOLDENS
            or outline is None or (pose is not None and not pose.registered)):
        return fitted, None
    threshold, structure = fit_structure(fitted.holdout_grids, fitted.layout_features, settings, fitted.input_shape,
                                         fitted.scored_cells)
    if structure["agreement"] > 1.0:
        return fitted, None
    return replace(fitted, threshold=threshold), structure


def build_manifest(settings: DetectorSettings, backbone: FeatureBackbone, fitted: MemoryFit,
                   golden_images: list[np.ndarray], fit_seconds: float, part_outline: dict | None = None,
                   pose: PoseAlignment | None = None, structure: dict | None = None) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "inspectd_version": inspectd.__version__,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "backbone": {"name": backbone.name, "weights_sha256": backbone.weights_sha256,
                     "stages": ["stride8", "stride16"], "channels": list(backbone.channels)},
        "normalisation": {"mean": list(backbone.mean), "std": list(backbone.std)},
        "settings": settings.to_dict(),
        "input_shape": list(fitted.input_shape),
        "memory_shape": list(fitted.memory.shape),
        "holdout_shape": list(fitted.holdout_features.shape),
        "counts": {"images": len(golden_images), "augmented_copies": fitted.copies - len(golden_images),
                   "patches": fitted.patches, "coreset": len(fitted.memory)},
        "threshold": fitted.threshold,
        "calibration": fitted.calibration,
        "presence": fitted.presence,
        "part_outline": part_outline,
        "pose": None if pose is None else pose.to_dict(),
        "structure": structure,
        "golden_sha256": [hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest()
                          for img in golden_images],
        "fit_seconds": round(fit_seconds, 3),
    }

