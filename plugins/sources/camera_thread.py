"""Helpers for camera sources: a thread of their own, a frame-rate cap, a reconnect backoff."""

from __future__ import annotations

import threading
import time

from inspectd.config.cameras import CameraConfig
from inspectd.daemon.interfaces import SourceContext


STOP_WAIT_S = 1.0
"""How long ``stop`` waits for the reading thread. A thread still blocked in a device call (an open or
read that has its own timeout) is left to end by itself; frames it emits late are answered 'rejected'."""


class ThreadedSource:
    """A camera source whose ``_run`` reads frames on its own thread until ``stop``."""

    def __init__(self, camera: CameraConfig, context: SourceContext) -> None:
        self._camera = camera
        self._context = context
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"source-{camera.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(STOP_WAIT_S)
        if self._thread.is_alive():
            self._context.log.warning("source_stop_timeout", waited_s=STOP_WAIT_S)

    @property
    def lingering(self) -> bool:
        """Still inside a device call after ``stop`` gave up waiting."""
        return self._thread.is_alive()

    def _run(self) -> None:
        raise NotImplementedError


class FrameClock:
    """``due()`` says whether a frame may be emitted now; ``wait_next`` sleeps until the next slot."""

    def __init__(self, fps: float | None) -> None:
        self._interval_s = 1.0 / fps if fps else 0.0
        self._next = time.monotonic()

    def due(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = max(self._next + self._interval_s, now)
        return True

    def wait_next(self, stopping: threading.Event) -> bool:
        """Sleep until the next slot; False if ``stopping`` was set meanwhile."""
        delay = self._next - time.monotonic()
        if delay > 0 and stopping.wait(delay):
            return False
        self.due()
        return not stopping.is_set()


class Backoff:
    """Exponential reconnect delay between ``minimum_s`` and ``maximum_s``, reset on success."""

    def __init__(self, minimum_s: float, maximum_s: float) -> None:
        self._minimum_s, self._maximum_s = minimum_s, maximum_s
        self.delay_s = minimum_s

    def failed(self) -> float:
        delay, self.delay_s = self.delay_s, min(self.delay_s * 2.0, self._maximum_s)
        return delay

    def succeeded(self) -> None:
        self.delay_s = self._minimum_s
