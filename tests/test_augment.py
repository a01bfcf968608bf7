"""Augmented copies of a real golden image: which copies, in which order, and what a brightness gain does."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inspectd.detector.augment import augmented_copies, brighten, copy_coverage, rotate, rotation_matrix
from inspectd.detector.settings import AugmentationSet, DetectorSettings
from inspectd.images import image_files, read_rgb


def _golden(data_root: Path) -> np.ndarray:
    return read_rgb(image_files(data_root / "kolektorsdd" / "commutator" / "train" / "good")[0])


def test_copies_come_in_a_fixed_order_after_the_image_itself(data_root: Path) -> None:
    image = _golden(data_root)
    augmentations = AugmentationSet(rotations=4, hflip=True, shifts=(4,), scales=(1.1,), gains=(1.3, 0.77))
    copies = augmented_copies(image, augmentations)
    assert len(copies) == 4 * 2 + 2 + 1 + 2  # rotations, each also mirrored; a shift along x and y; a zoom; two gains
    assert copies[0] is image
    np.testing.assert_array_equal(copies[4], image[:, ::-1])
    np.testing.assert_array_equal(copies[-3], rotate(image, 0.0, 1.1))
    np.testing.assert_array_equal(copies[-2], brighten(image, 1.3))
    assert all(copy.shape == image.shape and copy.dtype == np.uint8 for copy in copies)


def test_brightness_gain_scales_and_saturates_like_an_over_exposed_sensor(data_root: Path) -> None:
    image = _golden(data_root)
    brighter, darker = brighten(image, 1.3), brighten(image, 0.77)
    unsaturated = image < 150
    np.testing.assert_allclose(brighter[unsaturated], image[unsaturated] * 1.3, atol=0.51)
    assert (image >= 197).any() and (brighter[image >= 197] == 255).all()  # 197 * 1.3 > 255: clipped, not wrapped around
    np.testing.assert_allclose(darker, image * 0.77, atol=0.51)


def test_gains_round_trip_through_settings_dicts() -> None:
    settings = DetectorSettings().with_overrides({"augmentations": {"gains": [1.3, 0.77]}})
    assert settings.augmentations.gains == (1.3, 0.77)
    assert DetectorSettings.from_dict(settings.to_dict()) == settings


def test_rotation_matrix_says_where_rotate_puts_a_pixel(data_root: Path) -> None:
    """A bright dot on a real, non-square frame lands where the matrix sends it (the benchmarks' patch
    correspondences between a golden and its rotated copies rely on this)."""
    image = _golden(data_root)[:300, :200] // 2  # the part dimmed, so that the dot is the one brightest spot
    image[100:103, 60:63] = 255
    for degrees, scale in ((15.0, 1.0), (90.0, 1.0), (200.0, 1.0), (0.0, 1.1), (30.0, 0.9)):
        moved = rotate(image, degrees, scale).astype(np.float32).sum(2)
        x, y = rotation_matrix(image.shape[:2], degrees, scale) @ np.array([61.0, 101.0, 1.0])
        row, col = np.unravel_index(moved.argmax(), moved.shape)
        assert abs(col - x) <= 1.5 and abs(row - y) <= 1.5, (degrees, scale, (col, row), (x, y))


def test_coverage_marks_the_corners_a_rotation_fills_by_mirroring() -> None:
    augmentations = AugmentationSet(rotations=8, hflip=True, shifts=(4,), gains=(1.3,))
    coverage = copy_coverage((320, 320), augmentations)
    assert coverage.shape == (8 * 2 + 2 + 1, 320, 320)
    assert coverage[0].all() and coverage[2].all() and coverage[-1].all()  # the image, turned 90 degrees, a gain
    # a square turned by 45 degrees keeps the octagon where it overlaps itself: 4 (sqrt 2 - 1) / 2 of its area
    assert abs(coverage[1].mean() - 2 * (np.sqrt(2) - 1)) < 0.01
    assert coverage[1][160, 160] and not coverage[1][0, 0] and not coverage[1][-1, -1]
    np.testing.assert_array_equal(coverage[8 + 1], coverage[1][:, ::-1])  # the mirrored copy's own corners
    assert not coverage[-3][:, :4].any() and coverage[-3][:, 4:].all()  # shifted 4 px right: its left 4 columns
