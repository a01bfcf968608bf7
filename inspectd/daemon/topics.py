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

    def source_of_command(self, topic: str) -> str | None:
        """The source level of a ``<prefix>/<source>/product/set`` topic, else None."""
        head, tail = f"{self.prefix}/", "/product/set"
        if topic.startswith(head) and topic.endswith(tail):
            level = topic[len(head) : -len(tail)]
            return level if level and "/" not in level else None
        return None
