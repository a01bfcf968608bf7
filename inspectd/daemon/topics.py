"""Every MQTT topic inspectd uses, derived from the topic prefix (a public API: docs/mqtt-api.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    prefix: str

    @property
    def availability(self) -> str:
        return f"{self.prefix}/available"

    @property
    def events(self) -> str:
        return f"{self.prefix}/events"

    @property
    def reload_command(self) -> str:
        return f"{self.prefix}/reload/set"

    @property
    def product_commands(self) -> str:
        """Filter matching every source's recipe-change topic."""
        return f"{self.prefix}/+/product/set"

    def result(self, source: str) -> str:
        return f"{self.prefix}/{source}/result"

    def heatmap(self, source: str) -> str:
        return f"{self.prefix}/{source}/heatmap"

    def state(self, source: str) -> str:
        return f"{self.prefix}/{source}/state"

    def trigger(self, source: str) -> str:
        return f"{self.prefix}/{source}/trigger"

    @property
    def feedback_commands(self) -> str:
        """Filter matching every product's operator-feedback topic."""
        return f"{self.prefix}/+/feedback/set"

    @property
    def drift_ack_commands(self) -> str:
        """Filter matching every product's drift-acknowledgement topic (stream learning)."""
        return f"{self.prefix}/+/drift/ack"

    def product_of_drift_ack(self, topic: str) -> str | None:
        """The product level of a ``<prefix>/<product>/drift/ack`` topic, else None."""
        return self._command_level(topic, "/drift/ack")

    def source_of_command(self, topic: str) -> str | None:
        """The source level of a ``<prefix>/<source>/product/set`` topic, else None."""
        return self._command_level(topic, "/product/set")

    def product_of_feedback(self, topic: str) -> str | None:
        """The product level of a ``<prefix>/<product>/feedback/set`` topic, else None."""
        return self._command_level(topic, "/feedback/set")

    def _command_level(self, topic: str, tail: str) -> str | None:
        head = f"{self.prefix}/"
        if topic.startswith(head) and topic.endswith(tail):
            level = topic[len(head) : -len(tail)]
            return level if level and "/" not in level else None
        return None
