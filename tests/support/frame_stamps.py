"""Frames that carry their own capture time: the wall clock (ms) drawn as a grid of black/white blocks.

Survives H.264 at ordinary quality (each bit is a 20 px block), so a test or benchmark can read back,
from the frame the daemon answered with, when that frame was made at the camera end.
"""

from __future__ import annotations

import numpy as np

BITS = 48
COLUMNS = 8
BLOCK = 20


def stamp_frame(width: int, height: int, time_ms: int) -> np.ndarray:
    """An RGB frame whose top-left blocks spell ``time_ms`` (low 48 bits), the rest mid grey."""
    frame = np.full((height, width, 3), 96, dtype=np.uint8)
    for bit in range(BITS):
        row, column = divmod(bit, COLUMNS)
        on = (time_ms >> bit) & 1
        frame[row * BLOCK:(row + 1) * BLOCK, column * BLOCK:(column + 1) * BLOCK] = 255 if on else 0
    return frame


def read_stamp(frame: np.ndarray) -> int:
    """The ``time_ms`` a frame from :func:`stamp_frame` carries (after lossy coding: block means)."""
    gray = frame.mean(axis=2) if frame.ndim == 3 else frame
    value = 0
    for bit in range(BITS):
        row, column = divmod(bit, COLUMNS)
        inner = gray[row * BLOCK + 4:(row + 1) * BLOCK - 4, column * BLOCK + 4:(column + 1) * BLOCK - 4]
        value |= int(inner.mean() > 128) << bit
    return value
