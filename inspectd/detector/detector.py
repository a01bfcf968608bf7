"""The fitted detector: a bank plus its backbone, scoring batches of frames."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from inspectd.detector.backbone import get_backbone
from inspectd.detector.bank import Bank
from inspectd.detector.decisive_cells import settled_scores_and_maps
from inspectd.detector.embedder import embed
from inspectd.detector.features import patch_features, resize_to, to_batch
from inspectd.detector.layout import StructuralCheck
from inspectd.detector.part_outline import PartOutline, hidden_outside
from inspectd.detector.pose import PoseAlignment
from inspectd.detector.presence import PresenceCheck
from inspectd.detector.registration import grid_centre
from inspectd.detector.scoring import Region, calibrated_score, defect_regions, rejected
from inspectd.detector.search import open_search, patch_index


@dataclass
class Inspection:
    image_score: float
    threshold: float
    calibrated_score: float  # 0.5 at the threshold, monotone in image_score
    is_defective: bool
    # float32 at the bank's frame shape (Detector.frame_shape, not the frame's own), in image-score units; 0
    # outside the part's outline where the bank has one, but on the region above the threshold that holds a
    # peak lying off it (detector/part_outline.py)
    anomaly_map: np.ndarray
    regions: list[Region]  # in frame pixels
    timings_ms: dict[str, float] = field(default_factory=dict)
    part_missing: bool = False  # the presence check failed the frame (detector/presence.py)
    # bool at the bank's frame shape: the part's outline the map was cut to; None where the map is whole
    outline: np.ndarray | None = None


class Detector:
    """Scores frames against one product's bank. ``threshold_override`` (operator) wins over the bank's;
    ``presence_check=False`` (operator) skips the bank's presence check."""

    def __init__(self, bank: Bank, threshold_override: float | None = None, presence_check: bool = True) -> None:
        self.bank = bank
        self.settings = bank.settings
        self.backbone = get_backbone(self.settings.backbone, self.settings.weights_path)
        self.index = patch_index(bank.memory, self.settings.search)
        self.threshold = float(threshold_override) if threshold_override is not None else bank.threshold
        # Banks written before aspect-preserving input have no input_shape: they were square.
        size = self.settings.input_size
        self.input_shape = tuple(bank.manifest.get("input_shape") or (size, size))
        self.grid_centre = grid_centre(self.settings)
        # Banks written before the presence check (or of format 1) have no presence threshold: no check.
        presence = bank.manifest.get("presence") if presence_check else None
        whole_frame = bank.manifest.get("part_outline") is None and bank.manifest.get("pose") is None
        self.presence = None if presence is None or bank.row_groups is None else PresenceCheck(
            bank.memory, bank.row_groups, len(bank.holdout_features), presence["threshold"], whole_frame)
        # Banks written before the part outline, and those of parts not told from their background, have none.
        outline = bank.manifest.get("part_outline") if self.settings.part_outline != "off" else None
        self.outline = None if outline is None else PartOutline.from_dict(outline)
        # Banks of parts not long and thin, and those written before pose alignment, take the frame whole.
        pose = bank.manifest.get("pose")
        self.pose = None if pose is None else PoseAlignment.from_dict(pose)
        # the shape frames are resized to, and maps, outlines and regions are given at: the input shape unless
        # the backbone sees a pose-aligned crop
        self.frame_shape = self.input_shape if self.pose is None else self.pose.frame_shape
        # Banks whose goldens do not agree on a layout, and those written before the check, have no structural check.
        self.structure = StructuralCheck.of(bank)

    def embedded_features(self, inputs: list[np.ndarray], timings: dict[str, float]) -> np.ndarray:
        """RGB uint8 frames at the input shape (``input_frames``) -> embedded patch features [B, h, w, D]; adds
        stage timings (ms)."""
        started = time.perf_counter()
        batch = to_batch(inputs, self.backbone)
        timings["preprocess"] = _ms_since(started)
        started = time.perf_counter()
        features = patch_features(self.backbone, batch, self.settings.precision, self.settings.feature_norm_power)
        timings["backbone"] = _ms_since(started)
        started = time.perf_counter()
        embedded = embed(features, self.settings.embedder)
        timings["embed"] = _ms_since(started)
        return embedded

    def score_maps(self, features: np.ndarray, timings: dict[str, float],
                   scored_cells: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Embedded features -> (image scores [B], anomaly maps [B, H, W] at the bank's input shape);
        ``scored_cells`` [B, h, w] (0 or 1): the patch-grid cells that count (all by default)."""
        started = time.perf_counter()
        search = open_search(self.index, features)
        timings["search"] = _ms_since(started)
        structure = None
        if self.structure is not None:
            started = time.perf_counter()
            structure = self.structure.patch_scores(features)
            timings["structure"] = _ms_since(started)

        def grids_of(distances: np.ndarray) -> np.ndarray:
            grids = distances if structure is None else np.maximum(distances, structure)
            return grids if scored_cells is None else grids * scored_cells

        started = time.perf_counter()
        scores, maps = settled_scores_and_maps(search, grids_of, self.input_shape, self.settings.map_sigma(),
                                               self.grid_centre, self.settings.score_top_k, self.threshold,
                                               self.settings.roi)
        proving_ms = search.settling_ms
        timings["search"] += proving_ms
        timings["postprocess"] = _ms_since(started) - proving_ms
        return scores, maps

    def input_frames(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """RGB uint8 frames of any size -> what the backbone sees, at the bank's input shape."""
        return self.framed(images)[1]

    def framed(self, images: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None]:
        """RGB uint8 frames of any size -> (the frames at ``frame_shape``, the backbone's inputs, and where the
        pose alignment placed each crop [B, 2, 3]; None without one: the inputs are the frames)."""
        frames, placements = self.placed(images)
        if placements is None:
            return frames, frames, None
        return frames, self.pose.crops(images, placements), placements

    def placed(self, images: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray | None]:
        """``framed`` without the crops: (the frames at ``frame_shape``, where the pose alignment places each crop)."""
        frames = [resize_to(image, self.frame_shape) for image in images]
        return frames, None if self.pose is None else self.pose.placements(frames)

    def frame_side(self) -> int:
        """The longest side a frame needs so that the backbone's input is not made from upscaled pixels."""
        return max(self.input_shape) if self.pose is None else self.pose.frame_side()

    def frame_maps(self, maps: np.ndarray, placements: np.ndarray | None) -> np.ndarray:
        """Maps at the input shape -> at ``frame_shape`` (turned back off the pose-aligned crops)."""
        return maps if placements is None else self.pose.on_frames(maps, placements)

    def outlined(self, maps: np.ndarray, frames: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """Anomaly maps of ``frames`` (at ``frame_shape``) -> the maps, 0 outside the part's outline (but on the
        region above the threshold holding a peak that lies off it: part_outline.hidden_outside), and each
        frame's outline so applied (None: the map left whole; all None without an outline in the bank)."""
        if self.outline is None:
            return maps, [None] * len(maps)
        outlines = self.outline.applied(np.stack(frames))
        return hidden_outside(maps, outlines, self.threshold), outlines

    def part_missing(self, features: np.ndarray) -> np.ndarray:
        """Embedded features [B, h, w, D] -> [B] bool: the presence check fails the frame (never without one)."""
        return self.presence.part_missing(features) if self.presence else np.zeros(len(features), bool)

    def inspect(self, images: list[np.ndarray]) -> list[Inspection]:
        """Score a batch of RGB uint8 frames of any size."""
        if not images:
            return []
        timings: dict[str, float] = {}
        started = time.perf_counter()
        frames, inputs, placements = self.framed(images)  # once: the features and the part's outline read them
        resized_ms = _ms_since(started)
        features = self.embedded_features(inputs, timings)
        started = time.perf_counter()
        on_frame = None if placements is None else self.pose.cells_on_frame(placements, features.shape[1:3])
        timings["preprocess"] += resized_ms + _ms_since(started)
        scores, maps = self.score_maps(features, timings, on_frame)
        started = time.perf_counter()
        maps, outlines = self.outlined(self.frame_maps(maps, placements), frames)
        timings["outline"] = _ms_since(started)
        started = time.perf_counter()
        missing = self.part_missing(features)
        timings["presence"] = _ms_since(started)
        started = time.perf_counter()
        inspections = []
        defective = rejected(scores, self.threshold, missing)
        for image, score, anomaly_map, outline, part_missing, fails in zip(images, scores, maps, outlines, missing,
                                                                           defective):
            inspections.append(Inspection(
                image_score=float(score), threshold=self.threshold,
                calibrated_score=calibrated_score(float(score), self.threshold),
                is_defective=bool(fails), anomaly_map=anomaly_map,
                regions=defect_regions(anomaly_map, self.threshold, image.shape[:2]), timings_ms={},
                part_missing=bool(part_missing), outline=outline))
        timings["postprocess"] += _ms_since(started)
        per_image = {stage: ms / len(images) for stage, ms in timings.items()}
        for inspection in inspections:
            inspection.timings_ms = dict(per_image)
        return inspections


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
