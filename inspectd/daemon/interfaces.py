"""What a source or sink plugin implements, and what the daemon hands it.

A source plugin is a factory ``(settings, SourceContext) -> FrameSource`` registered under the
``inspectd.sources`` entry-point group; ``settings`` is the camera's (or MQTT input's) config entry.
A camera plugin whose every frame is a distinct part (a hot folder) sets the class attribute
``delivers_parts = True``: its frames are never dropped when the detector falls behind, they wait for
queue room like triggered parts; ``delivers_parts`` may also be a function of the camera's config.
A camera plugin that fires its camera's own trigger sets ``fires_trigger = True`` and has an
``on_trigger(topic, payload)`` method: in trigger mode it is subscribed to the trigger topic, and what it
emits is sent on as a part (instead of the latest frame being latched by the daemon).
A sink plugin is a factory ``(SinkContext) -> ResultSink`` under ``inspectd.sinks``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from inspectd.config import InspectdConfig
from inspectd.daemon.frame import Frame, FrameInfo
from inspectd.daemon.metrics import DaemonMetrics
from inspectd.daemon.mqtt import MqttConnection
from inspectd.daemon.result import Result
from inspectd.daemon.topics import Topics


class FrameSource(Protocol):
    def start(self) -> None:
        """Begin delivering frames (from own threads or MQTT callbacks); must not block."""

    def stop(self) -> None:
        """Stop delivering frames and release the device; returns when no more frames come."""


class ResultSink(Protocol):
    name: str

    def publish(self, result: Result) -> None:
        """Deliver one result; may raise (the daemon counts and logs the failure)."""

    def close(self) -> None:
        """Flush and release resources."""


@dataclass(frozen=True)
class SourceContext:
    name: str
    emit: Callable[[Frame], None]
    """Hand a decoded frame to the router (may wait for queue room)."""
    reject: Callable[[FrameInfo, str, str], None]
    """Answer a payload that never became a frame: (info, reason, message) -> an error result."""
    set_up: Callable[[bool], None]
    """Report that the source delivers frames (True) or lost its device (False)."""
    mqtt: MqttConnection | None
    log: Any
    decode_min_side: Callable[[], int | None]
    """The shorter side a JPEG may be decoded down to, asked per frame (banks change); None: full size."""
    metrics: DaemonMetrics | None = None
    """The daemon's metrics, for a source that counts what only it can see (frames its camera lost)."""


@dataclass(frozen=True)
class SinkContext:
    config: InspectdConfig
    topics: Topics | None
    mqtt: MqttConnection | None
    metrics: DaemonMetrics
    log: Any
