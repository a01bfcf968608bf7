"""Frames kept beside their results, so an operator's feedback can name a frame by its id.

The disk result sink writes ``<results_dir>/<source>/<YYYY-MM-DD>/<frame_id>.frame.png`` (lossless)
next to the result JSON; the sink's retention sweep deletes it with the rest after ``retention_days``.
It is the frame as decoded: a large JPEG decoded at reduced size is kept at that size (still at least
what the detector and overlay use); the result's ``image`` holds the size the frame was sent at.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

FRAME_SUFFIX = ".frame.png"
FRAME_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def frame_file_name(frame_id: str) -> str:
    return f"{frame_id}{FRAME_SUFFIX}"


def encode_frame(image: np.ndarray) -> bytes:
    """RGB uint8 frame -> PNG bytes."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"cannot encode a frame of shape {image.shape} as PNG")
    return encoded.tobytes()


def find_frame(results_dir: Path, frame_id: str) -> Path:
    """The archived frame with this id; FileNotFoundError if it was never kept or has expired."""
    if not FRAME_ID.match(frame_id):
        raise ValueError(f"invalid frame id {frame_id!r}: expected {FRAME_ID.pattern}")
    found = sorted(Path(results_dir).glob(f"*/*/{frame_file_name(frame_id)}"))
    if not found:
        raise FileNotFoundError(f"frame {frame_id} is not kept under {results_dir} (storage.save_frames off, "
                                f"not saved by storage.save, or older than storage.retention_days)")
    return found[0]

