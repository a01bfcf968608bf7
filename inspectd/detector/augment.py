"""Augmented copies of a golden image (rotations, flips, shifts, zooms, brightness gains) for the memory bank."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from inspectd.detector.settings import AugmentationSet


def rotation_matrix(shape: tuple[int, int], degrees: float, scale: float = 1.0) -> np.ndarray:
    """2x3 matrix taking a pixel of an image of ``shape`` (height, width) to where ``rotate`` puts it."""
    height, width = shape
    return cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), degrees, scale)


def rotate(image: np.ndarray, degrees: float, scale: float = 1.0, border: int = cv2.BORDER_REFLECT_101) -> np.ndarray:
    """The image turned by ``degrees`` and zoomed by ``scale`` about its centre, the uncovered corners mirrored
    (or filled as ``border`` says)."""
    if degrees % 360 == 0 and scale == 1.0:
        return image
    height, width = image.shape[:2]
    return cv2.warpAffine(image, rotation_matrix((height, width), degrees, scale), (width, height),
                          flags=cv2.INTER_LINEAR, borderMode=border)


def shift(image: np.ndarray, dx: int, dy: int, border: int = cv2.BORDER_REFLECT_101) -> np.ndarray:
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, matrix, image.shape[1::-1], borderMode=border)


def brighten(image: np.ndarray, gain: float) -> np.ndarray:
    return cv2.convertScaleAbs(image, alpha=gain)  # saturates at 255 like an over-exposed sensor


def augmented_copies(image: np.ndarray, augmentations: AugmentationSet) -> list[np.ndarray]:
    """The image itself first, then every configured copy (each operator applied alone or in turn)."""
    return _copies(image, augmentations, cv2.BORDER_REFLECT_101, brighten)


def copy_coverage(shape: tuple[int, int], augmentations: AugmentationSet) -> np.ndarray:
    """[copies, H, W] bool, in ``augmented_copies``' order: the pixels of each copy of an image of ``shape`` that
    show the image, False where a rotation, shift or zoom left the frame and the copy shows mirrored fill."""
    shown = _copies(np.ones(shape, np.uint8), augmentations, cv2.BORDER_CONSTANT, lambda image, gain: image)
    return np.stack(shown).astype(bool)


def _copies(image: np.ndarray, augmentations: AugmentationSet, border: int,
            gained: Callable[[np.ndarray, float], np.ndarray]) -> list[np.ndarray]:
    copies = [rotate(image, angle, border=border) for angle in augmentations.angles()]
    if augmentations.hflip:
        copies += [np.ascontiguousarray(c[:, ::-1]) for c in copies]
    if augmentations.vflip:
        copies += [np.ascontiguousarray(c[::-1]) for c in copies]
    for offset in augmentations.shifts:
        copies += [shift(image, offset, 0, border), shift(image, 0, offset, border)]
    copies += [rotate(image, 0.0, factor, border) for factor in augmentations.scales]
    copies += [gained(image, gain) for gain in augmentations.gains]
    return copies
