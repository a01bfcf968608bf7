"""Render the anomaly map as a colour overlay on the frame, with defect boxes, encoded for sending."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from inspectd.config.products import HeatmapConfig
from inspectd.daemon.result import DefectBox, Heatmap

OUTLINE_GREY = (200, 200, 200)  # BGR; defect boxes are white


def render_overlay(
    image_rgb: np.ndarray,
    anomaly_map: np.ndarray,
    threshold: float,
    defects: Sequence[DefectBox],
    settings: HeatmapConfig,
    outline: np.ndarray | None = None,
) -> Heatmap:
    """Blend a JET colour map of ``anomaly_map`` (threshold at mid-scale) over the image; ``outline`` (bool, at the
    map's shape: the part's outline the map was cut to) is traced in grey, so that a map dark off the part reads
    as "not inspected for the map", not as "perfect"."""
    height, width = image_rgb.shape[:2]
    scale = min(1.0, settings.max_size / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image_bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
    if scale < 1.0:
        image_bgr = cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA)
    scores = cv2.resize(anomaly_map.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    # 0 .. 2 x threshold -> 0 .. 255, saturating, in one pass (scores are distances, never negative)
    level = cv2.convertScaleAbs(scores, alpha=255.0 / (2.0 * threshold) if threshold > 0 else 255.0)
    colours = cv2.applyColorMap(level, cv2.COLORMAP_JET)
    overlay = cv2.addWeighted(image_bgr, 0.55, colours, 0.45, 0.0)
    if outline is not None:
        inside = cv2.resize(outline.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours(inside, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(overlay, contours, -1, OUTLINE_GREY, 1)
    for box in defects:
        top_left = (round(box.x * scale), round(box.y * scale))
        bottom_right = (round((box.x + box.width) * scale), round((box.y + box.height) * scale))
        cv2.rectangle(overlay, top_left, bottom_right, (255, 255, 255), 2)
    if settings.format == "png":
        ok, encoded = cv2.imencode(".png", overlay)
    else:
        ok, encoded = cv2.imencode(".jpg", overlay, [cv2.IMWRITE_JPEG_QUALITY, settings.jpeg_quality])
    if not ok:
        raise ValueError("overlay could not be encoded")
    return Heatmap(data=encoded.tobytes(), format=settings.format)
