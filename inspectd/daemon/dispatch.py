"""Turn outcomes into results, account for every frame, and hand each result to every sink.

This is the one place frames are counted as processed, failed or rejected, so the counts add up by
construction: received = processed + dropped + failed (+ frames still in flight).
"""

from __future__ import annotations

import queue
import threading
import time

from inspectd.config.products import ProductConfig
from inspectd.daemon.heatmap import render_overlay
from inspectd.daemon.interfaces import ResultSink
from inspectd.daemon.metrics import DaemonMetrics
from inspectd.daemon.result import DefectBox, Result, error_result
from inspectd.daemon.workers import Inspected, NotInspected, Outcome
from inspectd.detector.scoring import scaled_box

_STOP = object()


class ResultDispatcher:
    def __init__(self, sinks: list[ResultSink], products: dict[str, ProductConfig], metrics: DaemonMetrics,
                 log, capacity: int = 256) -> None:
        self._sinks = sinks
        self._products = products
        self._metrics = metrics
        self._log = log
        self._queue: queue.Queue = queue.Queue(capacity)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="result-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, item: Outcome | Result) -> None:
        """Queue an outcome (waits for room: results are never shed here). After ``stop``, delivers inline."""
        if self._closed:
            self._deliver(item)
        else:
            self._queue.put(item)

    def stop(self) -> None:
        """Deliver everything queued, then close the sinks."""
        self._queue.put(_STOP)
        self._thread.join()
        self._closed = True

    def close_sinks(self) -> None:
        for sink in self._sinks:
            try:
                sink.close()
            except Exception:
                self._log.exception("sink_close_failed", sink=sink.name)

    def _run(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            self._deliver(item)

    def _deliver(self, item: Outcome | Result) -> None:
        try:
            result = self._to_result(item)
        except Exception as error:  # e.g. the overlay could not be rendered: still answer the frame
            frame_info = item.info if isinstance(item, Result) else item.frame.info
            self._log.exception("result_build_failed", frame_id=frame_info.frame_id)
            result = error_result(frame_info, "error", "result_error", f"{type(error).__name__}: {error}")
        self._account(result)
        for sink in self._sinks:
            try:
                sink.publish(result)
            except Exception:
                self._metrics.sink_errors.labels(sink.name).inc()
                self._log.exception("sink_failed", sink=sink.name, frame_id=result.info.frame_id)

    def _to_result(self, item: Outcome | Result) -> Result:
        if isinstance(item, Result):
            return item
        if isinstance(item, NotInspected):
            return error_result(item.frame.info, "error", item.reason, item.message)
        return self._inspected_result(item)

    def _inspected_result(self, item: Inspected) -> Result:
        info, inspection = item.frame.info, item.inspection
        product = info.product or ""
        boxes = tuple(DefectBox(r.x, r.y, r.width, r.height, float(r.peak_score)) for r in inspection.regions)
        heatmap_settings = self._products[product].heatmap
        latency = {"decode": info.decode_ms, "queue": item.queue_ms, **inspection.timings_ms}
        heatmap = None
        if heatmap_settings.enabled and (inspection.is_defective or not heatmap_settings.only_failures):
            started = time.perf_counter()
            heatmap = render_overlay(item.frame.image, inspection.anomaly_map, inspection.threshold, boxes,
                                     heatmap_settings, inspection.outline)
            latency["render"] = (time.perf_counter() - started) * 1000.0
        latency["total"] = (time.monotonic() - info.received_monotonic) * 1000.0
        height, width = item.frame.image.shape[:2]
        frame_size = info.frame_size or (width, height)
        return Result(
            info=info,
            product=product,
            verdict="fail" if inspection.is_defective else "pass",
            score=inspection.image_score,
            calibrated_score=inspection.calibrated_score,
            part_missing=inspection.part_missing,
            threshold=inspection.threshold,
            bank_version=item.bank_version,
            defects=tuple(in_frame_pixels(box, (width, height), frame_size) for box in boxes),
            image_size=frame_size,
            latency_ms=latency,
            heatmap=heatmap,
            frame_image=item.frame.image,
        )

    def _account(self, result: Result) -> None:
        source, m = result.info.source, self._metrics
        log = self._log.bind(frame_id=result.info.frame_id, source=source, product=result.product)
        if result.answered:
            m.frames_processed.labels(source).inc()
            m.verdicts.labels(result.product, result.verdict).inc()
            m.anomaly_score.labels(result.product).observe(result.calibrated_score)
            for stage, ms in result.latency_ms.items():
                m.stage_latency.labels(stage).observe(ms / 1000.0)
            log.info("result", verdict=result.verdict, score=result.score, calibrated_score=result.calibrated_score,
                     part_missing=result.part_missing, bank_version=result.bank_version, defects=len(result.defects),
                     part_id=result.info.part_id, latency_ms=round(result.latency_ms["total"], 1))
        elif result.verdict == "rejected":
            m.frames_dropped.labels(source, result.error_reason).inc()
            log.warning("frame_rejected", reason=result.error_reason, detail=result.error_message)
        else:
            m.frames_failed.labels(source, result.error_reason).inc()
            log.warning("frame_failed", reason=result.error_reason, detail=result.error_message)


def in_frame_pixels(box: DefectBox, image_size: tuple[int, int], frame_size: tuple[int, int]) -> DefectBox:
    """A box on the decoded image -> the same box in the pixels of the frame as sent (the image may have
    been decoded at reduced size); widened outwards to whole pixels, clipped to the frame."""
    if image_size == frame_size:
        return box
    scale = (frame_size[0] / image_size[0], frame_size[1] / image_size[1])
    return DefectBox(*scaled_box(box.x, box.y, box.width, box.height, scale, frame_size), box.peak_score)
