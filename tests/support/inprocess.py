"""In-process daemon test helpers: small real images, fitted banks, a running daemon, an MQTT listener."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client.parser import text_string_to_metric_families

from inspectd.config import parse_config
from inspectd.daemon.service import Daemon
from inspectd.detector import AugmentationSet, BankStore, DetectorSettings, fit_bank
from inspectd.images import read_rgb
from support.images import encode

IMAGE_SIZE = 128
# The coreset ratio is pinned: feedback tests count the patches a frame adds (a share of the fit coreset).
FAST_SETTINGS = DetectorSettings(input_size=IMAGE_SIZE, augmentations=AugmentationSet(rotations=1), coreset=0.1)


def small_images(data_root: Path, category: str, folder: str, count: int, offset: int = 0) -> list[np.ndarray]:
    """``count`` real RGB images from ``mvtec_ad/<category>/<folder>``, resized to IMAGE_SIZE."""
    files = sorted((data_root / "mvtec_ad" / category / folder).glob("*.*"))[offset : offset + count]
    assert len(files) == count, f"not enough images in {category}/{folder}"
    return [cv2.resize(read_rgb(f), (IMAGE_SIZE, IMAGE_SIZE)) for f in files]


def json_frame(image_rgb: np.ndarray, part_id: str, product: str | None = None) -> bytes:
    message: dict[str, Any] = {"image": base64.b64encode(encode(image_rgb)).decode(), "part_id": part_id,
                               "timestamp": time.time()}
    if product:
        message["product"] = product
    return json.dumps(message).encode()


def fit_product_bank(banks_dir: Path, data_root: Path, product: str, offset: int = 0) -> Path:
    """Fit a small bank for ``product`` (an MVTec category) from 2 golden images; returns its version dir."""
    goldens = small_images(data_root, product, "train/good", 2, offset)
    return BankStore(banks_dir).write(product, fit_bank(goldens, FAST_SETTINGS))


def fit_both_products(banks_dir: Path, data_root: Path) -> Path:
    """Version v0001 of the bottle and screw banks under ``banks_dir``; returns ``banks_dir``."""
    for product in ("bottle", "screw"):
        fit_product_bank(banks_dir, data_root, product)
    return banks_dir


def daemon_config(banks_dir: Path, broker: Any = None, prefix: str = "inspectd", **sections: Any) -> dict[str, Any]:
    """A config dict with products bottle and screw; ``sections`` are merged in at the top level."""
    config: dict[str, Any] = {
        "products": {
            "bottle": {"banks_dir": str(banks_dir), "reload_poll_s": 0.2},
            "screw": {"banks_dir": str(banks_dir), "reload_poll_s": 0.2,
                      "heatmap": {"delivery": "inline", "format": "png"}},
        },
        "metrics": {"port": 0},
        "logging": {"level": "warning"},
    }
    if broker is not None:
        config["broker"] = {"host": broker.host, "port": broker.port, "topic_prefix": prefix,
                            "client_id": f"inspectd-{prefix}", "reconnect_min_s": 0.1, "reconnect_max_s": 1.0}
    config.update(sections)
    return config


@contextlib.contextmanager
def running_daemon(config: dict[str, Any]) -> Iterator[Daemon]:
    daemon = Daemon(parse_config(config))
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


def scrape_text(port: int) -> str:
    """The /metrics page, fetched over HTTP."""
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics over HTTP -> {(sample name, sorted labels): value}."""
    text = scrape_text(port)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


class MqttListener:
    """A test client: records every message on the subscribed filters, publishes frames."""

    def __init__(self, broker: Any, *filters: str) -> None:
        self.messages: dict[str, list[bytes]] = defaultdict(list)
        self.properties: dict[str, list[Any]] = defaultdict(list)
        self._changed = threading.Condition()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        self._client.on_message = self._on_message
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *args: subscribed.set()
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()
        self._client.subscribe([(f, paho.SubscribeOptions(qos=1)) for f in filters])
        assert subscribed.wait(5), "test listener could not subscribe"

    def _on_message(self, client, userdata, message) -> None:
        with self._changed:
            self.messages[message.topic].append(message.payload)
            self.properties[message.topic].append(message.properties)
            self._changed.notify_all()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def json_messages(self, topic: str) -> list[dict[str, Any]]:
        with self._changed:
            return [json.loads(p) for p in self.messages[topic]]

    def wait_for(self, topic: str, count: int, timeout_s: float = 60.0) -> list[bytes]:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(self.messages[topic]) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"{topic}: {len(self.messages[topic])} of {count} messages after {timeout_s}s"
                self._changed.wait(remaining)
            return list(self.messages[topic])

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def decode_image(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a decodable image"
    return image
