"""A bounded frame queue with the admission policy a line needs.

When the queue is full, a new frame displaces the oldest waiting free-running camera frame (the newest
image of a moving line matters most). With no such frame to displace, a free-running frame is refused
at once, and a triggered part waits for room up to a timeout before it is refused, so the caller can
answer it with a 'rejected' result. Nothing disappears silently: displaced and refused frames are
returned to the caller to be counted. A closed queue admits nothing more and hands out what it holds.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from inspectd.daemon.frame import Frame


@dataclass(frozen=True)
class Admission:
    accepted: bool
    displaced: Frame | None = None
    closed: bool = False


class FrameQueue:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._frames: deque[Frame] = deque()
        self._changed = threading.Condition()
        self.closed = False

    def __len__(self) -> int:
        return len(self._frames)

    def put(self, frame: Frame, wait_s: float = 0.0) -> Admission:
        """Admit ``frame`` by the policy above; a triggered frame may wait up to ``wait_s`` for room."""
        deadline = time.monotonic() + wait_s
        with self._changed:
            while not self.closed and len(self._frames) >= self.capacity:
                displaced = next((f for f in self._frames if f.droppable), None)
                if displaced is not None:
                    self._frames.remove(displaced)
                    self._append(frame)
                    return Admission(True, displaced)
                remaining = deadline - time.monotonic()
                if frame.droppable or remaining <= 0:
                    return Admission(False)
                self._changed.wait(remaining)
            if self.closed:
                return Admission(False, closed=True)
            self._append(frame)
            return Admission(True)

    def close(self) -> None:
        """Admit no more frames (waiting producers are refused); frames already queued stay to be taken."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def take_batch(self, max_frames: int, timeout_s: float) -> list[Frame]:
        """Wait up to ``timeout_s`` for a frame, then take it and up to ``max_frames - 1`` more that wait."""
        with self._changed:
            if not self._frames and not self.closed:
                self._changed.wait(timeout_s)
            batch = [self._frames.popleft() for _ in range(min(max_frames, len(self._frames)))]
            if batch:
                self._changed.notify_all()
            return batch

    def _append(self, frame: Frame) -> None:
        self._frames.append(frame)
        self._changed.notify_all()
