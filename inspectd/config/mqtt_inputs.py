"""``mqtt_inputs:`` — image topics: each message is one part to inspect (raw JPEG/PNG or JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from inspectd.config.schema import NAME_PATTERN, setting


@dataclass(frozen=True)
class MqttInputConfig:
    name: str = setting(pattern=NAME_PATTERN, doc="source name used in result topics and metrics")
    topic: str = setting(pattern=r"[^#+$\s][^\s]*", doc="topic filter; wildcards + and # allowed after the first level")
    product: str | None = setting(None, doc="product for this topic; null: the JSON payload's product field")
    payload: Literal["raw", "json"] = setting("json", doc="raw: JPEG/PNG bytes; json: {image: base64, part_id, product, timestamp}")
    max_payload_bytes: int = setting(8_000_000, minimum=1024, doc="larger messages are refused and counted")
    max_image_pixels: int = setting(40_000_000, minimum=1024, doc="decoded width*height cap (decompression bombs)")
    shared_group: str | None = setting(None, pattern=NAME_PATTERN, doc="subscribe as $share/<group>/<topic> to split the topic between daemons")
    backpressure_timeout_s: float = setting(5.0, minimum=0.0, doc="how long a part waits for queue room before it is rejected with a result")
