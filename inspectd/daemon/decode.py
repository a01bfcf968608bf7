"""Image payloads (JPEG/PNG bytes, or JSON with a base64 image) to RGB frames, refusing bad input."""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass

import cv2
import numpy as np


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOFn; not DHT, JPG, DAC


class PayloadError(ValueError):
    """A payload that cannot become a frame; ``reason`` is the metric label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ImageMessage:
    image_bytes: bytes
    part_id: str | None = None
    product: str | None = None
    timestamp: float | None = None


def parse_json_message(payload: bytes) -> ImageMessage:
    """``{"image": base64, "part_id"?: str, "product"?: str, "timestamp"?: number}``."""
    try:
        message = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise PayloadError("bad_json", f"payload is not JSON: {error}") from None
    if not isinstance(message, dict) or not isinstance(message.get("image"), str):
        raise PayloadError("bad_json", "JSON payload needs an 'image' field holding base64 text")
    try:
        image_bytes = base64.b64decode(message["image"], validate=True)
    except (binascii.Error, ValueError) as error:
        raise PayloadError("bad_base64", f"image field is not base64: {error}") from None
    part_id, product, timestamp = message.get("part_id"), message.get("product"), message.get("timestamp")
    if part_id is not None and not isinstance(part_id, (str, int)):
        raise PayloadError("bad_json", "part_id must be a string or an integer")
    if product is not None and not isinstance(product, str):
        raise PayloadError("bad_json", "product must be a string")
    if timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, (int, float))):
        raise PayloadError("bad_json", "timestamp must be seconds since the epoch")
    return ImageMessage(image_bytes, None if part_id is None else str(part_id), product,
                        None if timestamp is None else float(timestamp))


def decode_image(image_bytes: bytes, max_pixels: int) -> np.ndarray:
    """JPEG/PNG (any depth, grey or colour, alpha dropped) -> RGB uint8 HxWx3."""
    if not image_bytes:
        raise PayloadError("empty", "empty image")
    declared = declared_size(image_bytes)
    if declared is None:
        raise PayloadError("decode_error", f"not a JPEG or PNG ({len(image_bytes)} bytes)")
    if declared[0] * declared[1] > max_pixels:  # checked before decoding: decompression bombs
        raise PayloadError("too_many_pixels", f"image declares {declared[0]}x{declared[1]}, cap is {max_pixels} pixels")
    image = cv2.imdecode(np.frombuffer(image_bytes, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise PayloadError("decode_error", f"JPEG/PNG could not be decoded ({len(image_bytes)} bytes)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def declared_size(image_bytes: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG IHDR or JPEG SOF header, without decoding; None if neither."""
    if image_bytes.startswith(PNG_SIGNATURE) and len(image_bytes) >= 24:
        return int.from_bytes(image_bytes[16:20], "big"), int.from_bytes(image_bytes[20:24], "big")
    if not image_bytes.startswith(b"\xff\xd8"):
        return None
    offset = 2
    while offset + 9 <= len(image_bytes):
        if image_bytes[offset] != 0xFF:
            return None
        marker = image_bytes[offset + 1]
        if marker in JPEG_FRAME_MARKERS:
            height = int.from_bytes(image_bytes[offset + 5 : offset + 7], "big")
            width = int.from_bytes(image_bytes[offset + 7 : offset + 9], "big")
            return width, height
        offset += 2 + int.from_bytes(image_bytes[offset + 2 : offset + 4], "big")
    return None


def timed_decode(image_bytes: bytes, max_pixels: int) -> tuple[np.ndarray, float]:
    """:func:`decode_image` and the milliseconds it took."""
    started = time.perf_counter()
    image = decode_image(image_bytes, max_pixels)
    return image, (time.perf_counter() - started) * 1000.0
