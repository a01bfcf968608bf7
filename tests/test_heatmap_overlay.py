"""The heatmap overlay on a real frame: where the colour scale sits against the threshold, boxes, size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inspectd.config.products import HeatmapConfig
from inspectd.daemon.heatmap import render_overlay
from inspectd.daemon.result import DefectBox
from inspectd.images import image_files, read_rgb

THRESHOLD = 20.0


def _jet(level: int) -> np.ndarray:
    return cv2.applyColorMap(np.full((1, 1), level, np.uint8), cv2.COLORMAP_JET)[0, 0].astype(float)


def test_colour_scale_puts_the_threshold_mid_scale_and_saturates_at_twice_it(data_root: Path) -> None:
    image = read_rgb(image_files(data_root / "mvtec_ad" / "bottle" / "test" / "good")[0])
    side = image.shape[0]
    anomaly_map = np.zeros((64, 64), np.float32)  # a detector-sized map, upsampled to the frame
    anomaly_map[:, 32:48] = THRESHOLD
    anomaly_map[:, 48:] = 5 * THRESHOLD
    heatmap = render_overlay(image, anomaly_map, THRESHOLD, [DefectBox(0, 0, side // 8, side // 8, 1.0)],
                             HeatmapConfig(format="png", max_size=side))
    overlay = cv2.imdecode(np.frombuffer(heatmap.data, np.uint8), cv2.IMREAD_COLOR).astype(float)
    assert overlay.shape[:2] == image.shape[:2]
    frame = cv2.cvtColor(image, cv2.COLOR_RGB2BGR).astype(float)
    row = side // 2
    for column, level in ((side * 3 // 16, 0), (side * 5 // 8, 128), (side * 15 // 16, 255)):
        expected = 0.55 * frame[row, column] + 0.45 * _jet(level)
        np.testing.assert_allclose(overlay[row, column], expected, atol=2.5, err_msg=f"level {level}")
    box_edge = overlay[side // 16, 0]
    np.testing.assert_array_equal(box_edge, [255, 255, 255])  # the defect box, in white


def test_overlay_is_no_larger_than_max_size_and_keeps_the_aspect(data_root: Path) -> None:
    image = read_rgb(image_files(data_root / "kolektorsdd" / "commutator" / "train" / "good")[0])
    heatmap = render_overlay(image, np.zeros((32, 13), np.float32), THRESHOLD, [], HeatmapConfig(max_size=256))
    overlay = cv2.imdecode(np.frombuffer(heatmap.data, np.uint8), cv2.IMREAD_COLOR)
    assert max(overlay.shape[:2]) == 256 and heatmap.format == "jpeg"
    assert abs(overlay.shape[1] / overlay.shape[0] - image.shape[1] / image.shape[0]) < 0.02


def test_the_outline_the_map_was_cut_to_is_traced_in_grey(data_root: Path) -> None:
    image = read_rgb(image_files(data_root / "mvtec_ad" / "bottle" / "test" / "good")[0])
    side = image.shape[0]
    outline = np.zeros((64, 64), bool)
    outline[16:48, 16:48] = True  # at the map's shape: the middle quarter of the frame
    settings = HeatmapConfig(format="png", max_size=side)
    traced = render_overlay(image, np.zeros((64, 64), np.float32), THRESHOLD, [], settings, outline)
    plain = render_overlay(image, np.zeros((64, 64), np.float32), THRESHOLD, [], settings)
    traced_pixels, plain_pixels = (cv2.imdecode(np.frombuffer(h.data, np.uint8), cv2.IMREAD_COLOR)
                                   for h in (traced, plain))
    edge = side // 4
    np.testing.assert_array_equal(traced_pixels[side // 2, edge], [200, 200, 200])  # the outline's left side
    changed = np.any(traced_pixels != plain_pixels, axis=2)
    assert changed.sum() < 4 * (side // 2 + 2) * 2  # a 1-px trace round the square, nothing inside or out
    assert not changed[side // 2, side // 2] and not changed[side // 8, side // 8]
