"""A test-side MQTT client: publishes parts, collects the daemon's results and events."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from support.broker import Broker

Message = tuple[str, bytes]


class LineClient:
    """Stands in for the plant's PLC/MES: connects, subscribes, records every message it gets."""

    def __init__(self, broker: Broker, client_id: str, subscriptions: tuple[str, ...] = ("inspectd/#",),
                 configure: Callable[[paho.Client], None] = lambda client: None, session_expiry_s: int = 0) -> None:
        """``session_expiry_s`` > 0: a persistent session; the broker keeps our messages while we are away."""
        self.messages: list[Message] = []
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self._subscriptions = subscriptions
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        configure(self.client)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1.0)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = session_expiry_s
        self.client.connect(broker.host, broker.port, clean_start=session_expiry_s == 0, properties=properties)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError(f"test client {client_id} was not subscribed to {subscriptions}")

    def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos).wait_for_publish(10)

    def received(self, topic_suffix: str) -> list[Message]:
        with self._changed:
            return [m for m in self.messages if m[0].endswith(topic_suffix)]

    def results(self) -> list[dict[str, Any]]:
        """Every JSON result received so far (topics ``.../result``)."""
        return [json.loads(payload) for _, payload in self.received("/result")]

    def wait_results(self, count: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        self.wait_for(lambda: len(self.received("/result")) >= count, f"{count} results", timeout_s)
        return self.results()

    def wait_for(self, done: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
        """Wait until ``done()`` holds (checked on every message); AssertionError naming ``what`` if not."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {what} after {timeout_s}s ({len(self.results())} results so far)")
                self._changed.wait(min(remaining, 0.5))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)

    def _on_message(self, client, userdata, message: paho.MQTTMessage) -> None:
        with self._changed:
            self.messages.append((message.topic, message.payload))
            self._changed.notify_all()
