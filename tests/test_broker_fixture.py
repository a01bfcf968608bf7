"""The test harness's broker is a real mosquitto: a message published to it arrives."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def test_message_published_to_fixture_broker_arrives(mqtt_broker) -> None:
    received: list[tuple[str, bytes]] = []
    subscribed = threading.Event()
    arrived = threading.Event()

    subscriber = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fixture-sub")
    subscriber.on_connect = lambda c, *_: c.subscribe("inspectd/test/#", qos=1)
    subscriber.on_subscribe = lambda *_: subscribed.set()

    def on_message(_client, _userdata, message) -> None:
        received.append((message.topic, message.payload))
        arrived.set()

    subscriber.on_message = on_message
    subscriber.connect(mqtt_broker.host, mqtt_broker.port)
    subscriber.loop_start()
    try:
        assert subscribed.wait(5), "subscription was not acknowledged"
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fixture-pub")
        publisher.connect(mqtt_broker.host, mqtt_broker.port)
        publisher.loop_start()
        publisher.publish("inspectd/test/hello", b"\x00golden\xff", qos=1).wait_for_publish(5)
        publisher.loop_stop()
        publisher.disconnect()
        assert arrived.wait(5), "the published message never arrived"
    finally:
        subscriber.loop_stop()
        subscriber.disconnect()
    assert received == [("inspectd/test/hello", b"\x00golden\xff")]


def test_data_root_holds_the_six_categories(data_root) -> None:
    categories = sorted(p.parent.parent.relative_to(data_root).as_posix() for p in data_root.glob("*/*/train/good"))
    assert len(categories) >= 6, categories
    assert "mvtec_ad/bottle" in categories
