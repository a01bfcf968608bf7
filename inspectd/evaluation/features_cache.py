"""Backbone features of evaluation images, computed once per category and reused across shots and seeds.

Test-image features do not depend on which golden images were drawn, and a golden image's copies
do not depend on the seed that drew it; the extraction time is kept with the features so that fit
and per-image times stay honest.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from inspectd.detector.augment import augmented_copies
from inspectd.detector.backbone import get_backbone
from inspectd.detector.features import input_shape, patch_features, resize_to, to_batch
from inspectd.detector.settings import AugmentationSet, DetectorSettings
from inspectd.images import read_rgb

BATCH = 8


class FeatureCache:
    """Raw (pre-embedder) patch features for one backbone, input size and category."""

    def __init__(self, settings: DetectorSettings, reference_image: np.ndarray | None = None,
                 shape: tuple[int, int] | None = None) -> None:
        """``reference_image``: a frame of the category; its aspect ratio sets the input shape, unless ``shape``
        gives it (``fit.golden_input_shape`` of a draw's goldens)."""
        self.backbone = get_backbone(settings.backbone, settings.weights_path)
        self.input_size = settings.input_size
        height, width = reference_image.shape[:2] if reference_image is not None else (1, 1)
        self.shape = shape or input_shape(height, width, settings.input_size, settings.keep_aspect)
        self.precision = settings.precision
        self.norm_power = settings.feature_norm_power
        self._golden: dict[tuple[Path, AugmentationSet], tuple[np.ndarray, float]] = {}
        self._golden_frames: dict[Path, np.ndarray] = {}
        self._test: tuple[np.ndarray, float] | None = None
        self._test_frames: list[np.ndarray] | None = None
        self._extract([np.zeros((*self.shape, 3), np.uint8)])  # warm-up, untimed

    def _extract(self, images: list[np.ndarray]) -> np.ndarray:
        parts = [patch_features(self.backbone, to_batch(images[i:i + BATCH], self.backbone), self.precision,
                                self.norm_power)
                 for i in range(0, len(images), BATCH)]
        return np.concatenate(parts)

    def golden(self, path: Path, augmentations: AugmentationSet) -> tuple[np.ndarray, float]:
        """Features of one golden image's copies and the seconds their extraction took."""
        key = (path, augmentations)
        if key not in self._golden:
            started = time.perf_counter()
            features = self._extract(augmented_copies(self.golden_frame(path), augmentations))
            features.setflags(write=False)  # shared by every fit of the run: fit_memory copies, never alters it
            self._golden[key] = (features, time.perf_counter() - started)
        return self._golden[key]

    def golden_frame(self, path: Path) -> np.ndarray:
        """One golden image at the input shape (what its copies are made from, and what the part outline reads)."""
        if path not in self._golden_frames:
            self._golden_frames[path] = resize_to(read_rgb(path), self.shape)
        return self._golden_frames[path]

    def test_frames(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Every test image at the input shape, resized once per category."""
        if self._test_frames is None:
            self._test_frames = [resize_to(image, self.shape) for image in images]
        return self._test_frames

    def test(self, images: list[np.ndarray]) -> tuple[np.ndarray, float]:
        """Features of every test image and the milliseconds per image (resize + backbone + pooling)."""
        if self._test is None:
            started = time.perf_counter()
            features = self._extract(self.test_frames(images))
            self._test = (features, (time.perf_counter() - started) * 1000.0 / len(images))
        return self._test
