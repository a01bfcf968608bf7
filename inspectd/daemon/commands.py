"""MQTT command topics (only when ``commands.enabled``): recipe change and bank reload.

They act only on configured sources and products; anything else is refused, logged and reported.
"""

from __future__ import annotations

from inspectd.config.commands import CommandsConfig
from inspectd.daemon.banks import BankWatcher, EventPublisher
from inspectd.daemon.mqtt import MqttConnection
from inspectd.daemon.states import SourceStates
from inspectd.daemon.topics import Topics


class CommandHandler:
    def __init__(self, settings: CommandsConfig, topics: Topics, states: SourceStates, watcher: BankWatcher,
                 products: set[str], sources: set[str], publish_event: EventPublisher, log) -> None:
        self._settings = settings
        self._topics = topics
        self._states = states
        self._watcher = watcher
        self._products = products
        self._sources = sources
        self._publish_event = publish_event
        self._log = log.bind(component="commands")

    def subscribe(self, mqtt: MqttConnection) -> None:
        if not self._settings.enabled:
            return
        if self._settings.recipe_change:
            mqtt.subscribe(self._topics.product_commands, self._on_product_set)
        if self._settings.reload:
            mqtt.subscribe(self._topics.reload_command, self._on_reload)

    def _on_product_set(self, topic: str, payload: bytes) -> None:
        source = self._topics.source_of_command(topic)
        product = _text(payload)
        if source not in self._sources or product not in self._products:
            self._refuse("product_set", topic, f"unknown source {source!r} or product {product!r}")
            return
        self._states.set_product(source, product)
        self._log.info("recipe_changed", source=source, product=product)
        self._publish_event({"event": "recipe_changed", "source": source, "product": product})

    def _on_reload(self, topic: str, payload: bytes) -> None:
        product = _text(payload)  # empty: every product; not UTF-8: refused, never read as "all"
        if product is None or (product and product not in self._products):
            self._refuse("reload", topic, f"unknown product {product if product is not None else payload[:64]!r}")
            return
        self._log.info("reload_requested", product=product or "all")
        self._watcher.request_reload(product or None)

    def _refuse(self, command: str, topic: str, why: str) -> None:
        self._log.warning("command_refused", command=command, topic=topic, reason=why)
        self._publish_event({"event": "command_refused", "command": command, "topic": topic, "reason": why})


def _text(payload: bytes) -> str | None:
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
