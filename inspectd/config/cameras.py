"""``cameras:`` — frame sources read by inspectd itself (USB, RTSP, video files, image folders, GenICam)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from inspectd.config.genicam import GenicamConfig
from inspectd.config.schema import NAME_PATTERN, setting


@dataclass(frozen=True)
class SourceConfig:
    type: str = setting("opencv", doc="source plugin name: opencv, genicam, image_folder, hot_folder or a site plugin")
    uri: str | None = setting(None, doc="RTSP/HTTP URL or video file path (opencv); folder path (image_folder, "
                              "hot_folder); camera id or IP address (genicam)")
    index: int | None = setting(None, minimum=0, doc="USB camera index (opencv)")
    loop: bool = setting(False, doc="start again at the end of a file or folder (demo)")
    options: dict[str, Any] = setting(default_factory=dict, doc="extra settings passed to a site plugin")
    open_timeout_s: float = setting(5.0, minimum=0.1, doc="a stream that does not answer within this is down "
                                    "(opencv URL; Aravis has its own 2.5 s)")
    read_timeout_s: float = setting(2.0, minimum=0.1, doc="no frame for this long: the stream is down and reopened "
                                    "(opencv URL, free-running genicam); a quiet triggered genicam camera gets "
                                    "a control read this often")
    genicam: GenicamConfig | None = setting(None, doc="camera settings (genicam)")

    def __post_init__(self) -> None:
        if (self.uri is None) == (self.index is None):
            raise ValueError("exactly one of source.uri or source.index")


@dataclass(frozen=True)
class TriggerConfig:
    mode: Literal["free_run", "topic"] = setting("free_run", doc="free_run: every frame (oldest dropped when behind); topic: one frame per trigger message")
    topic: str | None = setting(None, doc="trigger topic; default <prefix>/<camera>/trigger")
    backpressure_timeout_s: float = setting(5.0, minimum=0.0, doc="how long a triggered part waits for queue room before it is rejected with a result")


@dataclass(frozen=True)
class CameraConfig:
    name: str = setting(pattern=NAME_PATTERN)
    source: SourceConfig = setting()
    product: str | None = setting(None, doc="product inspected; change at run time with <prefix>/<camera>/product/set")
    fps: float | None = setting(None, minimum=0.01, maximum=1000, doc="cap on frames taken from the source per second")
    trigger: TriggerConfig = setting(default_factory=TriggerConfig)
    reconnect_min_s: float = setting(0.5, minimum=0.05)
    reconnect_max_s: float = setting(30.0, minimum=0.1)
