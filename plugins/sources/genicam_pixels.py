"""An Aravis buffer's image as the RGB uint8 array the detector takes."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import cv2
import numpy as np

# GenICam Bayer names give the colours of the first row's first two pixels; OpenCV's name a pattern
# shifted by one row and column, so GenICam RG is OpenCV's BG and so on.
_BAYER_TO_RGB = {"BAYER_RG_8": cv2.COLOR_BayerBG2RGB, "BAYER_GR_8": cv2.COLOR_BayerGB2RGB,
                 "BAYER_GB_8": cv2.COLOR_BayerGR2RGB, "BAYER_BG_8": cv2.COLOR_BayerRG2RGB}

Converter = Callable[[bytes, int, int], np.ndarray]


class PixelConverter:
    """Turns buffers of the pixel formats ``source.genicam.pixel_format`` accepts into RGB images."""

    def __init__(self, aravis: ModuleType) -> None:
        self._convert: dict[int, Converter] = {
            aravis.PIXEL_FORMAT_MONO_8: lambda raw, h, w: _gray_to_rgb(_plane(raw, h, w, np.uint8)),
            aravis.PIXEL_FORMAT_MONO_16: lambda raw, h, w: _gray_to_rgb((_plane(raw, h, w, "<u2") >> 8).astype(np.uint8)),
            aravis.PIXEL_FORMAT_RGB_8_PACKED: lambda raw, h, w: _plane(raw, h, w, np.uint8, 3),
            aravis.PIXEL_FORMAT_BGR_8_PACKED: lambda raw, h, w: _plane(raw, h, w, np.uint8, 3)[..., ::-1],
        }
        for name, code in _BAYER_TO_RGB.items():
            self._convert[getattr(aravis, f"PIXEL_FORMAT_{name}")] = (
                lambda raw, h, w, code=code: cv2.cvtColor(_plane(raw, h, w, np.uint8), code))

    def supports(self, pixel_format: int) -> bool:
        return pixel_format in self._convert

    def to_rgb(self, buffer: Any) -> np.ndarray:
        """The buffer's image as a contiguous HxWx3 uint8 RGB array (a copy: the buffer goes back to the camera)."""
        height, width = buffer.get_image_height(), buffer.get_image_width()
        image = self._convert[buffer.get_image_pixel_format()](buffer.get_image_data(), height, width)
        return np.array(image, order="C")


def _plane(raw: bytes, height: int, width: int, dtype: Any, channels: int = 1) -> np.ndarray:
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.frombuffer(raw, dtype, height * width * channels).reshape(shape)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[:, :, None], 3, axis=2)
