"""Image topic source: each MQTT message is one part (raw JPEG/PNG, or JSON with a base64 image).

Oversized, undecodable or malformed payloads are answered with an error result and counted; they
never reach a detector. Messages are handled on paho's network thread; a full queue makes that
thread wait (backpressure to the broker) up to the input's timeout, then the part is rejected.
"""

from __future__ import annotations

import dataclasses

from inspectd.config.mqtt_inputs import MqttInputConfig
from inspectd.daemon.decode import ImageMessage, PayloadError, parse_json_message, timed_decode
from inspectd.daemon.frame import Frame, FrameInfo
from inspectd.daemon.interfaces import SourceContext


class MqttImageSource:
    def __init__(self, settings: MqttInputConfig, context: SourceContext) -> None:
        if context.mqtt is None:
            raise ValueError(f"mqtt input {settings.name!r} needs a broker")
        self._settings = settings
        self._context = context

    def start(self) -> None:
        self._context.mqtt.subscribe(self._settings.topic, self._on_message, self._settings.shared_group)
        self._context.set_up(True)

    def stop(self) -> None:
        """Marks the source down; messages still arriving until disconnect are answered by the router."""
        self._context.set_up(False)

    def _on_message(self, topic: str, payload: bytes) -> None:
        info = FrameInfo(source=self._settings.name, product=self._settings.product)
        try:
            if len(payload) > self._settings.max_payload_bytes:
                raise PayloadError("payload_too_large", f"{len(payload)} bytes, cap is {self._settings.max_payload_bytes}")
            message = (parse_json_message(payload, f"mqtt input {self._settings.name!r}")
                       if self._settings.payload == "json" else ImageMessage(payload))
            info = dataclasses.replace(info, part_id=message.part_id, product=message.product or info.product,
                                       captured_at=message.timestamp)
            decoded, decode_ms = timed_decode(message.image_bytes, self._settings.max_image_pixels,
                                              self._context.decode_min_side())
        except PayloadError as error:
            self._context.reject(info, error.reason, str(error))
            return
        self._context.emit(Frame(dataclasses.replace(info, decode_ms=decode_ms, frame_size=decoded.frame_size),
                                 decoded.image))
