"""One worker thread per product: takes frames from its queue in batches and inspects them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from inspectd.daemon.banks import ProductBank
from inspectd.daemon.frame import Frame
from inspectd.daemon.metrics import DaemonMetrics
from inspectd.daemon.queues import FrameQueue
from inspectd.detector import Inspection

IDLE_POLL_S = 0.1


@dataclass(frozen=True)
class Inspected:
    """A frame and the detector's answer, on its way to become a published result."""

    frame: Frame
    inspection: Inspection
    bank_version: str
    queue_ms: float
    batch_size: int


@dataclass(frozen=True)
class NotInspected:
    """A frame the worker could not inspect (no bank yet, detector error)."""

    frame: Frame
    reason: str
    message: str


Outcome = Inspected | NotInspected
Observer = Callable[[Frame, Inspection, str], None]  # sees every inspected frame (daemon/stream_learning.py)


class ProductWorker:
    def __init__(self, product: str, bank: ProductBank, queue: FrameQueue, max_batch: int,
                 deliver: Callable[[Outcome], None], metrics: DaemonMetrics, log, observe: Observer | None = None) -> None:
        self.product = product
        self.queue = queue
        self._bank = bank
        self._max_batch = max_batch
        self._deliver = deliver
        self._observe = observe
        self._metrics = metrics
        self._log = log.bind(product=product)
        self._thread = threading.Thread(target=self._run, name=f"worker-{product}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout_s: float) -> None:
        """Wait until the closed queue is drained and the worker ended (logs what is left after ``timeout_s``)."""
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._log.error("drain_timeout", unanswered=len(self.queue))

    def _run(self) -> None:
        depth = self._metrics.queue_depth.labels(self.product)
        while True:
            batch = self.queue.take_batch(self._max_batch, IDLE_POLL_S)
            depth.set(len(self.queue))
            if batch:
                self._inspect(batch)
            elif self.queue.closed:
                return

    def _inspect(self, batch: list[Frame]) -> None:
        detector, version = self._bank.detector, self._bank.version  # one bank for the whole batch
        if detector is None or version is None:
            for frame in batch:
                self._deliver(NotInspected(frame, "no_bank", f"no valid bank for product {self.product!r} yet"))
            return
        started = time.monotonic()
        try:
            inspections = detector.inspect([frame.image for frame in batch])
        except Exception as error:
            self._log.exception("inspect_failed", frame_ids=[f.info.frame_id for f in batch])
            for frame in batch:
                self._deliver(NotInspected(frame, "inspect_error", f"{type(error).__name__}: {error}"))
            return
        self._metrics.batch_size.labels(self.product).observe(len(batch))
        for frame, inspection in zip(batch, inspections):
            waited_s = started - frame.info.received_monotonic - frame.info.decode_ms / 1000.0
            self._deliver(Inspected(frame, inspection, version, max(0.0, waited_s) * 1000.0, len(batch)))
            if self._observe is not None:
                self._observe(frame, inspection, version)
