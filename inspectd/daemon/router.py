"""Route each frame to its product's queue; answer at once the frames that cannot be queued.

The product is the one the message names, else the source's current recipe (config, or the last
recipe-change command).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from inspectd.daemon.frame import Frame, FrameInfo
from inspectd.daemon.metrics import DaemonMetrics
from inspectd.daemon.queues import FrameQueue
from inspectd.daemon.result import Result, error_result
from inspectd.daemon.states import SourceStates


class Router:
    def __init__(self, queues: dict[str, FrameQueue], states: SourceStates, answer: Callable[[Result], None],
                 metrics: DaemonMetrics, log) -> None:
        self._queues = queues
        self._states = states
        self._answer = answer
        self._metrics = metrics
        self._log = log
        self._closed = False

    def close(self) -> None:
        """From now on frames are answered 'rejected: shutting_down' instead of queued; the workers
        finish what the queues hold."""
        self._closed = True
        for queue in self._queues.values():
            queue.close()

    def submit(self, frame: Frame, wait_s: float = 0.0) -> None:
        """Queue ``frame`` for its product (a triggered frame may wait ``wait_s`` for room)."""
        info = frame.info
        self._metrics.frames_received.labels(info.source).inc()
        product = info.product or self._states.product_of(info.source)
        if product is None or product not in self._queues:
            reason = "no_product" if product is None else "unknown_product"
            self._answer(error_result(info, "error", reason, f"product {product!r} is not configured"))
            return
        if product != info.product:
            frame = dataclasses.replace(frame, info=dataclasses.replace(info, product=product))
        if self._closed:
            self._answer(error_result(frame.info, "rejected", "shutting_down", "inspectd is stopping"))
            return
        queue = self._queues[product]
        admission = queue.put(frame, wait_s)
        self._metrics.queue_depth.labels(product).set(len(queue))
        if admission.displaced is not None:
            self._count_behind(admission.displaced)
        if admission.closed:
            self._answer(error_result(frame.info, "rejected", "shutting_down", "inspectd is stopping"))
        elif not admission.accepted:
            if frame.droppable:
                self._count_behind(frame)
            else:
                self._answer(error_result(frame.info, "rejected", "queue_full",
                                          f"product {product!r} queue stayed full for {wait_s}s"))

    def reject(self, info: FrameInfo, reason: str, message: str) -> None:
        """Answer a payload that never became a frame (too large, undecodable, ...)."""
        self._metrics.frames_received.labels(info.source).inc()
        self._answer(error_result(info, "error", reason, message))

    def _count_behind(self, frame: Frame) -> None:
        self._metrics.frames_dropped.labels(frame.info.source, "behind").inc()
        self._log.info("frame_dropped", frame_id=frame.info.frame_id, source=frame.info.source,
                       product=frame.info.product, reason="behind")
