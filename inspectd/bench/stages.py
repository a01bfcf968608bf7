"""One pass of encoded frames through decode -> detector -> heatmap -> result JSON, timed per stage.

The stages are the daemon's own functions (decode_image, Detector.inspect, render_overlay,
Result.to_json), called in-line without queues or a broker, so the figures are the work per frame.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np

from inspectd.config.products import HeatmapConfig
from inspectd.daemon.decode import decode_image
from inspectd.daemon.frame import FrameInfo
from inspectd.daemon.heatmap import render_overlay
from inspectd.daemon.result import DefectBox, Result
from inspectd.detector.detector import Detector, Inspection

STAGES = ("decode", "preprocess", "backbone", "embed", "search", "postprocess", "outline", "presence", "heatmap",
          "serialise")
MAX_PIXELS = 50_000_000
HEATMAP = HeatmapConfig()


@dataclass(frozen=True)
class BatchTiming:
    frames: int
    stage_ms: dict[str, float]  # per frame
    total_ms: float             # wall time of the whole batch, per frame
    cpu_ms: float               # CPU time of this process for the batch, per frame: robust to other load


def run_batch(detector: Detector, encoded: list[bytes]) -> BatchTiming:
    """Decode, inspect (one call for the batch), render and serialise ``encoded``; per-frame times."""
    cpu_started, started = time.process_time(), time.perf_counter()
    images = [decode_image(data, MAX_PIXELS).image for data in encoded]
    decoded = time.perf_counter()
    inspections = detector.inspect(images)
    inspected = time.perf_counter()
    results = [_result(image, inspection) for image, inspection in zip(images, inspections)]
    rendered = time.perf_counter()
    for result in results:
        json.dumps(result.to_json(heatmap_topic="line/bench/heatmap"))
    finished, cpu_finished = time.perf_counter(), time.process_time()
    count = len(encoded)
    stage_ms = {"decode": _ms(started, decoded) / count, **inspections[0].timings_ms,
                "heatmap": _ms(inspected, rendered) / count, "serialise": _ms(rendered, finished) / count}
    return BatchTiming(count, stage_ms, _ms(started, finished) / count, _ms(cpu_started, cpu_finished) / count)


def _result(image: np.ndarray, inspection: Inspection) -> Result:
    defects = tuple(DefectBox(r.x, r.y, r.width, r.height, r.peak_score) for r in inspection.regions)
    heatmap = render_overlay(image, inspection.anomaly_map, inspection.threshold, defects, HEATMAP,
                             inspection.outline)
    return Result(info=FrameInfo(source="bench"), product="bench",
                  verdict="fail" if inspection.is_defective else "pass", score=inspection.image_score,
                  calibrated_score=inspection.calibrated_score, part_missing=inspection.part_missing,
                  threshold=inspection.threshold,
                  bank_version="bench", defects=defects, image_size=(image.shape[1], image.shape[0]),
                  latency_ms=inspection.timings_ms, heatmap=heatmap)


def _ms(start: float, end: float) -> float:
    return (end - start) * 1000.0
