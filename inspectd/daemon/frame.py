"""A frame on its way through the pipeline: who sent it, when, for which product, and its pixels."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import numpy as np


def new_frame_id() -> str:
    """A short id unique across daemons sharing a topic."""
    return uuid.uuid4().hex[:16]


@dataclass(frozen=True)
class FrameInfo:
    """Everything known about a frame except its pixels; an error result can be built from it alone."""

    source: str
    product: str | None = None
    part_id: str | None = None
    captured_at: float | None = None
    frame_id: str = field(default_factory=new_frame_id)
    received_at: float = field(default_factory=time.time)
    received_monotonic: float = field(default_factory=time.monotonic)
    decode_ms: float = 0.0
    # (width, height) of the frame as sent; the image may be smaller (a JPEG decoded at reduced size, see
    # decode.decode_image). Results report sizes and boxes in the frame's pixels. None: the image's size.
    frame_size: tuple[int, int] | None = None


@dataclass(frozen=True)
class Frame:
    """An RGB uint8 HxWx3 image and its info. ``droppable``: a free-running camera frame that may be
    dropped (oldest first) when the detector falls behind; other frames are answered or rejected."""

    info: FrameInfo
    image: np.ndarray
    droppable: bool = False
