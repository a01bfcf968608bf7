"""``inspectd send``: publish image files to a configured MQTT input and print the result each one gets.

A client of a running daemon, for trying a config by hand: it reads the broker and the input from the
daemon's config, subscribes to the input's result topic, waits until the daemon says it is online (its
retained ``<prefix>/available``: a daemon just started is subscribed only then), publishes each image as the
input expects it (raw bytes, or JSON with the image base64-encoded and the file's name as ``part_id``) and
waits for the answer. On a raw input the next result on the topic counts as the image's (a raw payload carries no id).
"""

from __future__ import annotations

import base64
import json
import queue
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from inspectd.config import InspectdConfig
from inspectd.config.mqtt_inputs import MqttInputConfig
from inspectd.daemon.mqtt import broker_client
from inspectd.daemon.topics import Topics

CONNECT_TIMEOUT_S = 10.0


class SendError(RuntimeError):
    """The images could not be sent or were not answered; the message says why."""


def pick_input(config: InspectdConfig, name: str | None) -> MqttInputConfig:
    """The MQTT input called ``name`` (None: the config's only one) whose topic takes a publish."""
    if config.broker is None or not config.mqtt_inputs:
        raise SendError("the config has no broker or no mqtt_inputs: there is no topic to send images to")
    inputs = {item.name: item for item in config.mqtt_inputs}
    if name is None and len(inputs) > 1:
        raise SendError(f"the config has {len(inputs)} mqtt inputs; choose one with --input ({', '.join(inputs)})")
    chosen = inputs.get(name) if name is not None else config.mqtt_inputs[0]
    if chosen is None:
        raise SendError(f"no mqtt input {name!r} in the config (inputs: {', '.join(inputs)})")
    if "+" in chosen.topic or "#" in chosen.topic:
        raise SendError(f"mqtt input {chosen.name!r} subscribes to the filter {chosen.topic!r}: publish to a topic "
                        "it matches with mosquitto_pub instead")
    return chosen


def payload_for(image: Path, mqtt_input: MqttInputConfig) -> bytes:
    data = image.read_bytes()
    if mqtt_input.payload == "raw":
        return data
    return json.dumps({"image": base64.b64encode(data).decode(), "part_id": image.name}).encode()


def send_images(config: InspectdConfig, images: list[Path], input_name: str | None, timeout_s: float,
                echo: Callable[[str], None], wait_s: float = 300.0,
                note: Callable[[str], None] = lambda _line: None) -> list[dict]:
    """Send each image in turn and echo its result's summary; the results in order. ``wait_s``: how long a
    daemon may take to come online (its bank and backbone load first; ``note`` says it is being waited for).
    SendError when the broker cannot be reached, no daemon comes online or an image gets no answer within
    ``timeout_s``."""
    mqtt_input = pick_input(config, input_name)
    broker = config.broker
    topics = Topics(broker.topic_prefix)
    answers: queue.Queue[dict] = queue.Queue()
    subscribed, online = threading.Event(), threading.Event()
    client = broker_client(broker, f"inspectd-send-{uuid.uuid4().hex[:8]}", clean=True)
    client.message_callback_add(topics.result(mqtt_input.name),
                                lambda _c, _u, message: answers.put(json.loads(message.payload)))
    client.message_callback_add(topics.availability,
                                lambda _c, _u, message: online.set() if message.payload == b"online" else online.clear())
    client.on_subscribe = lambda *_args: subscribed.set()
    client.on_connect = lambda c, _u, _f, reason, _p: (
        None if reason.is_failure else c.subscribe([(topics.result(mqtt_input.name), 1), (topics.availability, 1)]))
    try:
        client.connect(broker.host, broker.port, keepalive=broker.keepalive_s)
    except OSError as error:
        raise SendError(f"cannot reach the broker at {broker.host}:{broker.port}: {error}") from None
    client.loop_start()
    try:
        if not subscribed.wait(CONNECT_TIMEOUT_S):
            raise SendError(f"the broker at {broker.host}:{broker.port} did not accept a subscription within "
                            f"{CONNECT_TIMEOUT_S:.0f} s")
        if not online.wait(min(wait_s, 1.0)):
            note(f"send: waiting up to {wait_s:.0f} s for the daemon to come online on {topics.availability} ...")
            if not online.wait(max(wait_s - 1.0, 0.0)):
                raise SendError(f"no daemon is online on {topics.availability} after {wait_s:.0f} s "
                                "(start it with `inspectd run --config` on this config)")
        return [_send_one(client, image, mqtt_input, answers, timeout_s, echo) for image in images]
    finally:
        client.disconnect()
        client.loop_stop()


def _send_one(client, image: Path, mqtt_input: MqttInputConfig, answers: queue.Queue, timeout_s: float,
              echo: Callable[[str], None]) -> dict:
    client.publish(mqtt_input.topic, payload_for(image, mqtt_input), qos=1).wait_for_publish(timeout_s)
    part_id = None if mqtt_input.payload == "raw" else image.name
    while True:
        try:
            result = answers.get(timeout=timeout_s)
        except queue.Empty:
            raise SendError(f"{image}: no result on the input's result topic within {timeout_s:.0f} s") from None
        if part_id is None or result.get("part_id") == part_id:
            echo(f"{image}: {summary(result)}")
            return result


def summary(result: dict) -> str:
    """One line: the verdict and what it rests on, or the error."""
    if result.get("verdict") in ("error", "rejected"):
        error = result.get("error") or {}
        return f"{result['verdict']}: {error.get('reason')}: {error.get('message')} (frame {result.get('frame_id')})"
    defects = len(result.get("defects") or [])
    return (f"{result['verdict']} score {result['score']:.4f} (threshold {result['threshold']:.4f}, "
            f"calibrated {result['calibrated_score']:.2f}), {defects} defect box(es), bank {result['bank_version']}, "
            f"{result['latency_ms']['total']:.0f} ms, frame {result['frame_id']}")
