"""Image files on disk: which files in a folder are images, and reading one as RGB.

Shared by refit (golden folders), eval and bench (MVTec-layout categories), operator feedback and the
folder sources, so that "an image file" means the same everywhere.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})


def image_files(folder: Path, suffixes: Collection[str] = IMAGE_SUFFIXES) -> list[Path]:
    """The folder's files with an image suffix (case-insensitive), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def read_rgb(path: Path) -> np.ndarray:
    """HxWx3 uint8 RGB; ValueError when the file cannot be read as an image."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot read image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
