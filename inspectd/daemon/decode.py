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
REDUCED_READ_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                      8: cv2.IMREAD_REDUCED_COLOR_8}


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


def parse_json_message(payload: bytes, source: str = "this input") -> ImageMessage:
    """``{"image": base64, "part_id"?: str, "product"?: str, "timestamp"?: number}``; ``source`` names the input
    in the messages of what it refuses."""
    image_kind = "PNG" if payload.startswith(PNG_SIGNATURE) else "JPEG" if payload.startswith(b"\xff\xd8") else None
    if image_kind is not None:
        raise PayloadError("bad_json", f"{source} expects JSON with the image base64-encoded in its 'image' field, "
                                       f"got raw {image_kind} bytes ({len(payload)}): wrap the image as "
                                       '{"image": "<base64>"}, or set the input\'s payload: raw')
    try:
        message = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise PayloadError("bad_json", f"{source} expects JSON with a base64 'image' field; the payload is not "
                                       f"JSON: {error}") from None
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


@dataclass(frozen=True)
class DecodedImage:
    """A decoded frame; ``image`` may be smaller than the frame as sent (``reduction`` 2, 4 or 8)."""

    image: np.ndarray  # RGB uint8 HxWx3
    frame_size: tuple[int, int]  # (width, height) of the frame as sent: what a full decode gives
    reduction: int = 1


def decode_image(image_bytes: bytes, max_pixels: int, min_side: int | None = None) -> DecodedImage:
    """JPEG/PNG (any depth, grey or colour, alpha dropped) -> RGB uint8 HxWx3.

    ``min_side``: a large JPEG is decoded at 1/2, 1/4 or 1/8 of its size in libjpeg's DCT domain (a
    fraction of a full decode's time): the largest reduction whose shorter side stays >= ``min_side``
    (the rule is on the shorter side so that one number keeps both sides of the detector's input and the
    overlay's longer side from being upscaled). None, and PNG always: full size.
    """
    if not image_bytes:
        raise PayloadError("empty", "empty image")
    declared = declared_size(image_bytes)
    if declared is None:
        raise PayloadError("decode_error", f"not a JPEG or PNG ({len(image_bytes)} bytes)")
    if declared[0] * declared[1] > max_pixels:  # checked before decoding: decompression bombs
        raise PayloadError("too_many_pixels", f"image declares {declared[0]}x{declared[1]}, cap is {max_pixels} pixels")
    is_jpeg = not image_bytes.startswith(PNG_SIGNATURE)
    reduction = jpeg_reduction(declared, min_side) if is_jpeg and min_side is not None else 1
    image = cv2.imdecode(np.frombuffer(image_bytes, dtype=np.uint8), REDUCED_READ_FLAGS[reduction])
    if image is None:
        raise PayloadError("decode_error", f"JPEG/PNG could not be decoded ({len(image_bytes)} bytes)")
    return DecodedImage(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), _frame_size(declared, image.shape, reduction),
                        reduction)


def jpeg_reduction(size: tuple[int, int], min_side: int) -> int:
    """The largest of 8, 4, 2 whose scaled JPEG (libjpeg rounds each side up) keeps its shorter side
    >= ``min_side``; else 1."""
    shorter = min(size)
    return next((r for r in (8, 4, 2) if -(-shorter // r) >= min_side), 1)


def _frame_size(declared: tuple[int, int], decoded_shape: tuple[int, ...], reduction: int) -> tuple[int, int]:
    """(width, height) of the full frame: the declared size, turned when OpenCV applied an EXIF rotation."""
    height, width = decoded_shape[:2]
    if reduction == 1:
        return width, height
    declared_width, declared_height = declared
    upright = (height, width) == (-(-declared_height // reduction), -(-declared_width // reduction))
    return (declared_width, declared_height) if upright else (declared_height, declared_width)


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


def timed_decode(image_bytes: bytes, max_pixels: int, min_side: int | None = None) -> tuple[DecodedImage, float]:
    """:func:`decode_image` and the milliseconds it took."""
    started = time.perf_counter()
    decoded = decode_image(image_bytes, max_pixels, min_side)
    return decoded, (time.perf_counter() - started) * 1000.0
