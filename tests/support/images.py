"""Small real part images (MVTec AD) encoded as the line would send them, and empty fixtures made from them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import cv2
import numpy as np

IMAGE_SIDE = 96
"""Pixels per side of every test image: small keeps the detector fast on two shared cores."""


def part_images(data_root: Path, count: int, category: str = "mvtec_ad/bottle",
                folder: str = "train/good") -> list[np.ndarray]:
    """The first ``count`` images of a category's ``folder`` (good training images by default), RGB uint8, resized
    to IMAGE_SIDE."""
    paths = sorted((data_root / category / folder).glob("*.png"))
    paths = paths or sorted((data_root / category / folder).glob("*.jpg"))
    images = []
    for path in paths[:count]:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        images.append(cv2.cvtColor(cv2.resize(image, (IMAGE_SIDE, IMAGE_SIDE), interpolation=cv2.INTER_AREA),
                                   cv2.COLOR_BGR2RGB))
    if len(images) < count:
        raise FileNotFoundError(f"only {len(images)} images under {data_root / category / folder}")
    return images


def encode(image: np.ndarray, extension: str = ".jpg") -> bytes:
    """RGB (or grey, or BGRA) array to JPEG/PNG bytes."""
    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 and image.shape[2] == 3 else image
    ok, encoded = cv2.imencode(extension, pixels)
    assert ok, f"could not encode {image.shape} as {extension}"
    return encoded.tobytes()


def json_part(image_bytes: bytes, part_id: str, **fields: object) -> bytes:
    """The JSON image message: base64 image, part id and any other fields."""
    return json.dumps({"image": base64.b64encode(image_bytes).decode(), "part_id": part_id, **fields}).encode()


def background_only(image: np.ndarray) -> np.ndarray:
    """The image's top-left quarter-side square (MVTec screws lie away from the corners) mirrored out to
    the whole frame: the fixture with no part in it, in its own texture."""
    side = image.shape[0] // 4
    corner = image[:side, :side]
    tile = np.concatenate([np.concatenate([corner, corner[:, ::-1]], 1),
                           np.concatenate([corner[::-1], corner[::-1, ::-1]], 1)], 0)
    return np.ascontiguousarray(np.tile(tile, (2, 2, 1))[:image.shape[0], :image.shape[1]])
