"""Publishes each result (QoS 1) on ``<prefix>/<source>/result`` and its overlay on ``.../heatmap``.

With ``heatmap.delivery: inline`` the overlay travels base64-encoded inside the result instead. On
MQTT v5 the heatmap message carries ``frame_id`` and ``format`` user properties for correlation.
"""

from __future__ import annotations

import json

from inspectd.daemon.interfaces import SinkContext
from inspectd.daemon.result import Result


class MqttResultSink:
    name = "mqtt"

    def __init__(self, context: SinkContext) -> None:
        if context.mqtt is None or context.topics is None:
            raise ValueError("the mqtt result sink needs a broker")
        self._mqtt = context.mqtt
        self._topics = context.topics
        self._products = context.config.products

    def publish(self, result: Result) -> None:
        source = result.info.source
        product = self._products.get(result.product or "")
        inline = product is not None and product.heatmap.delivery == "inline"
        heatmap_topic = self._topics.heatmap(source)
        if result.heatmap is not None and not inline:
            self._mqtt.publish(heatmap_topic, result.heatmap.data, kind="heatmap",
                               user_properties={"frame_id": result.info.frame_id, "format": result.heatmap.format})
        payload = json.dumps(result.to_json(heatmap_topic=heatmap_topic, heatmap_inline=inline))
        self._mqtt.publish(self._topics.result(source), payload, kind="result")

    def close(self) -> None:
        """Nothing to release: the connection owner flushes on shutdown."""
