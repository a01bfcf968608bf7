"""Triggered cameras: the camera streams continuously, one frame is inspected per trigger message.

The trigger payload is empty, a part id as text, or JSON ``{"part_id": ..., "product": ...}``.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable

from inspectd.daemon.frame import Frame, FrameInfo, new_frame_id


class TriggerLatch:
    """Holds the camera's latest frame; ``on_trigger`` sends it on as a part that is never dropped."""

    def __init__(self, source: str, submit: Callable[[Frame], None],
                 reject: Callable[[FrameInfo, str, str], None]) -> None:
        self._source = source
        self._submit = submit
        self._reject = reject
        self._latest: Frame | None = None
        self._lock = threading.Lock()

    def hold(self, frame: Frame) -> None:
        """The camera's emit in trigger mode: keep only the newest frame."""
        with self._lock:
            self._latest = frame

    def on_trigger(self, topic: str, payload: bytes) -> None:
        part_id, product = parse_trigger(payload)
        with self._lock:
            latest = self._latest
        info = FrameInfo(source=self._source, part_id=part_id, product=product)
        if latest is None:
            self._reject(info, "no_frame", "triggered before the camera delivered a frame")
            return
        info = dataclasses.replace(info, frame_id=new_frame_id(), captured_at=latest.info.captured_at,
                                   received_monotonic=time.monotonic(), frame_size=latest.info.frame_size)
        self._submit(Frame(info, latest.image))


def parse_trigger(payload: bytes) -> tuple[str | None, str | None]:
    """The part id and product a trigger message names (either may be None)."""
    text = payload.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        try:
            message = json.loads(text)
        except ValueError:
            return text[:128], None
        if isinstance(message, dict):
            part_id, product = message.get("part_id"), message.get("product")
            return (None if part_id is None else str(part_id)[:128],
                    product if isinstance(product, str) else None)
    return (text[:128] or None), None
