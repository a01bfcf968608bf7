"""A test-side MQTT client: publishes parts, collects the daemon's results and events."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from support.broker import Broker

Message = tuple[str, bytes]


class LineClient:
    """Stands in for the plant's PLC/MES: connects, subscribes, records every message it gets."""

    def __init__(self, broker: Broker, client_id: str, subscriptions: tuple[str, ...] = ("inspectd/#",),
                 configure: Callable[[paho.Client], None] = lambda client: None) -> None:
        self.messages: list[Message] = []
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self._subscriptions = subscriptions
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        configure(self.client)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
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
        self._wait(lambda: len(self.received("/result")) >= count, timeout_s,
                   lambda: f"{len(self.received('/result'))} of {count} results")
        return self.results()

    def wait_message(self, topic_suffix: str, where: Callable[[bytes], bool] = lambda p: True,
                     timeout_s: float = 30.0) -> bytes:
        self._wait(lambda: any(where(p) for _, p in self.received(topic_suffix)), timeout_s,
                   lambda: f"no matching message on *{topic_suffix}")
        return next(p for _, p in self.received(topic_suffix) if where(p))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def _wait(self, done: Callable[[], bool], timeout_s: float, describe: Callable[[], str]) -> None:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"after {timeout_s}s: {describe()}")
                self._changed.wait(min(remaining, 0.5))

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)

    def _on_message(self, client, userdata, message: paho.MQTTMessage) -> None:
        with self._changed:
            self.messages.append((message.topic, message.payload))
            self._changed.notify_all()
