"""Payloads a plant can throw at an image topic: a named catalogue of bad ones and a seeded fuzzer."""

from __future__ import annotations

import base64
import json
import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from support.images import encode, json_part

MAX_PAYLOAD_BYTES = 200_000
MAX_IMAGE_PIXELS = 1_000_000
TRAVERSAL_NAMES = ("../../etc", "..", "../bottle", "/etc/passwd", "bottle/../../x", "bottle\x00", "BOTTLE", "%2e%2e")


@dataclass(frozen=True)
class Payload:
    name: str
    raw: bool
    """True: for the raw input (JPEG/PNG bytes); False: for the JSON input."""
    data: bytes
    verdict: str
    """Expected verdict: 'answered' (pass or fail), 'error' or 'rejected'."""
    reason: str | None = None


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and a well-formed IHDR declaring ``width`` x ``height``, no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def jpeg_with_size(jpeg: bytes, width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) is rewritten to declare ``width`` x ``height``."""
    data = bytearray(jpeg)
    offset = data.index(b"\xff\xc0")
    data[offset + 5 : offset + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def black_png(side: int) -> bytes:
    """A real, fully decodable PNG of ``side`` x ``side`` black pixels: tiny on the wire, big in memory."""
    return encode(np.zeros((side, side, 3), dtype=np.uint8), ".png")


def bad_payloads(image: np.ndarray) -> list[Payload]:
    """Every input class of the issue, built from one real RGB part image."""
    jpeg, png = encode(image), encode(image, ".png")
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    bgra = cv2.cvtColor(image, cv2.COLOR_RGB2BGRA)
    deep = cv2.cvtColor(image, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257
    b64 = base64.b64encode(jpeg).decode()
    return [
        Payload("empty", True, b"", "error", "empty"),
        Payload("random_bytes", True, random.Random(1).randbytes(3000), "error", "decode_error"),
        Payload("truncated_jpeg", True, jpeg[: len(jpeg) // 2], "error", "decode_error"),
        Payload("truncated_png", True, png[: len(png) // 2], "error", "decode_error"),
        Payload("png_header_only", True, png_header_only(64, 64), "error", "decode_error"),
        Payload("bomb_png_header", True, png_header_only(100_000, 100_000), "error", "too_many_pixels"),
        Payload("bomb_jpeg_header", True, jpeg_with_size(jpeg, 65_000, 65_000), "error", "too_many_pixels"),
        Payload("bomb_real_png", True, black_png(1500), "error", "too_many_pixels"),
        Payload("oversize", True, jpeg + bytes(MAX_PAYLOAD_BYTES), "error", "payload_too_large"),
        Payload("grayscale_png", True, encode(grey, ".png"), "answered"),
        Payload("grayscale_jpeg", True, encode(grey), "answered"),
        Payload("rgba_png", True, encode(bgra, ".png"), "answered"),
        Payload("png_16_bit", True, cv2.imencode(".png", deep)[1].tobytes(), "answered"),
        Payload("good_jpeg", True, jpeg, "answered"),
        Payload("malformed_json", False, b'{"image": "abc", ', "error", "bad_json"),
        Payload("json_not_utf8", False, b'{"image": "\xff\xfe"}', "error", "bad_json"),
        Payload("json_array", False, b"[1, 2, 3]", "error", "bad_json"),
        Payload("json_without_image", False, b'{"part_id": "x"}', "error", "bad_json"),
        Payload("json_image_not_text", False, b'{"image": 42}', "error", "bad_json"),
        Payload("bad_base64", False, b'{"image": "not base64 !!"}', "error", "bad_base64"),
        Payload("base64_of_garbage", False, json_part(b"garbage", "g"), "error", "decode_error"),
        Payload("part_id_object", False, json.dumps({"image": b64, "part_id": {"a": 1}}).encode(), "error", "bad_json"),
        Payload("timestamp_bool", False, json.dumps({"image": b64, "timestamp": True}).encode(), "error", "bad_json"),
        Payload("product_not_text", False, json.dumps({"image": b64, "product": 7}).encode(), "error", "bad_json"),
        Payload("unknown_product", False, json_part(jpeg, "u", product="cable"), "error", "unknown_product"),
        *(Payload(f"traversal_{i}", False, json_part(jpeg, f"t{i}", product=name), "error", "unknown_product")
          for i, name in enumerate(TRAVERSAL_NAMES)),
        Payload("traversal_part_id", False, json_part(jpeg, "../../../../tmp/owned"), "answered"),
        Payload("good_json", False, json_part(jpeg, "ok"), "answered"),
    ]


def fuzz_payloads(image: np.ndarray, count: int, seed: int) -> Iterator[tuple[bool, bytes]]:
    """``count`` seeded (raw?, payload) pairs: mutated, truncated and spliced images, random JSON."""
    rng = random.Random(seed)
    seeds = [encode(image), encode(image, ".png"), png_header_only(rng.randint(1, 5000), rng.randint(1, 5000))]
    for _ in range(count):
        kind = rng.random()
        base = rng.choice(seeds)
        if kind < 0.25:
            yield True, _mutate(rng, base)
        elif kind < 0.4:
            yield True, base[: rng.randint(0, len(base))]
        elif kind < 0.5:
            yield True, rng.randbytes(rng.randint(0, 4000))
        elif kind < 0.8:
            yield False, _fuzz_json(rng, _mutate(rng, base) if rng.random() < 0.7 else base)
        else:
            yield False, _mutate(rng, json_part(base, "f"))


def _mutate(rng: random.Random, data: bytes) -> bytes:
    mutated = bytearray(data)
    for _ in range(rng.randint(1, 12)):
        if not mutated:
            break
        mutated[rng.randrange(len(mutated))] = rng.randrange(256)
    return bytes(mutated)


def _fuzz_json(rng: random.Random, image_bytes: bytes) -> bytes:
    fields: dict[str, object] = {"image": base64.b64encode(image_bytes).decode()}
    for key, choices in (("part_id", ["p", 7, None, [1], "x" * 500]),
                         ("product", ["bottle", "cable", None, 3, *TRAVERSAL_NAMES]),
                         ("timestamp", [1.5e9, "now", None, True, -1])):
        if rng.random() < 0.5:
            fields[key] = rng.choice(choices)
    if rng.random() < 0.1:
        fields["image"] = fields["image"][: rng.randint(0, len(fields["image"]))]
    return json.dumps(fields).encode()
