"""``cameras[].source.genicam:`` — what a GenICam (GigE Vision / USB3 Vision) camera is set to at start.

Every setting left out keeps the camera's own value. Names follow the GenICam SFNC; a camera that
lacks a feature or refuses a value is reported at start with the feature's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from inspectd.config.schema import setting

PixelFormat = Literal["Mono8", "Mono16", "RGB8", "BGR8", "BayerRG8", "BayerGR8", "BayerGB8", "BayerBG8"]
"""The pixel formats the genicam source turns into RGB frames."""


@dataclass(frozen=True)
class RegionConfig:
    width: int = setting(minimum=1)
    height: int = setting(minimum=1)
    x: int = setting(0, minimum=0, doc="left edge of the sensor region read out (OffsetX)")
    y: int = setting(0, minimum=0, doc="top edge (OffsetY)")


@dataclass(frozen=True)
class GenicamConfig:
    exposure_us: float | None = setting(None, minimum=0.0, doc="exposure time in microseconds (ExposureTime)")
    gain: float | None = setting(None, minimum=0.0, doc="analog gain (Gain, or GainRaw on older cameras)")
    pixel_format: PixelFormat | None = setting(None, doc="null: the camera's current one (checked at start)")
    region: RegionConfig | None = setting(None, doc="sensor region of interest; null: the camera's current one")
    frame_rate: float | None = setting(None, minimum=0.01, doc="acquisition frame rate when free-running")
    hardware_trigger: str | None = setting(None, doc="a trigger line (Line0, Line1, ...): the camera exposes on "
                                           "its pulse and every frame is a part; null: software trigger "
                                           "(trigger.mode topic) or free-running")
    features: dict[str, Any] = setting(default_factory=dict, doc="further features set in order, by GenICam name")
    buffers: int = setting(8, minimum=2, maximum=256, doc="stream buffers queued for the camera")
    trigger_timeout_s: float = setting(1.0, minimum=0.01, doc="how long a triggered frame may take to arrive "
                                       "before the part is answered 'no_frame'")
