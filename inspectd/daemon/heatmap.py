"""Render the anomaly map as a colour overlay on the frame, with defect boxes, encoded for sending."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from inspectd.config.products import HeatmapConfig
from inspectd.daemon.result import DefectBox, Heatmap


def render_overlay(
    image_rgb: np.ndarray,
    anomaly_map: np.ndarray,
    threshold: float,
    defects: Sequence[DefectBox],
    settings: HeatmapConfig,
) -> Heatmap:
    """Blend a JET colour map of ``anomaly_map`` (threshold at mid-scale) over the image."""
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
