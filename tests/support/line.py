"""Daemon configs for the test line: one product ``bottle`` fed by one MQTT image input ``line``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.broker import Broker

PRODUCT = "bottle"
INPUT = "line"
PREFIX = "inspectd"
IMAGE_TOPIC = "factory/line/image"


def line_config(broker: Broker | None, banks_dir: Path, **overrides: Any) -> dict[str, Any]:
    """A complete config mapping; top-level ``overrides`` replace whole sections."""
    config: dict[str, Any] = {
        "products": {PRODUCT: {"banks_dir": str(banks_dir), "reload_poll_s": 0.2,
                               "heatmap": {"max_size": 64}}},
        "metrics": {"port": 0},
        "logging": {"level": "info"},
        "shutdown_drain_s": 20.0,
    }
    if broker is not None:
        config["broker"] = {"host": broker.host, "port": broker.port, "client_id": "inspectd-test",
                            "topic_prefix": PREFIX, "reconnect_min_s": 0.2, "reconnect_max_s": 1.0}
        config["mqtt_inputs"] = [{"name": INPUT, "topic": IMAGE_TOPIC, "product": PRODUCT,
                                  "payload": "json", "max_payload_bytes": 200_000}]
    config.update(overrides)
    return config


def accounted(daemon: Any, source: str = INPUT) -> dict[str, float]:
    """The daemon's own count of frames from ``source``: received, processed, dropped, failed."""
    return {kind: daemon.metric(f"inspectd_frames_{kind}_total", source=source)
            for kind in ("received", "processed", "dropped", "failed")}


def assert_all_accounted(counts: dict[str, float], sent: int) -> None:
    """Frames in = results out + counted drops and failures, and nothing more came in than was sent."""
    assert counts["received"] == sent, counts
    assert counts["processed"] + counts["dropped"] + counts["failed"] == sent, counts


CAMERA = "cam"


def image_folder_camera(folder: Path, fps: float) -> dict[str, Any]:
    """A looping image-folder camera inspecting ``bottle``: frames keep coming with no broker involved."""
    return {"name": CAMERA, "source": {"type": "image_folder", "uri": str(folder), "loop": True},
            "product": PRODUCT, "fps": fps}


def logged_answers(daemon: Any, source: str) -> list[dict[str, Any]]:
    """The daemon's log events that answer a frame of ``source`` (result, error or rejection)."""
    answers = ("result", "frame_failed", "frame_rejected")
    return [e for e in daemon.events if e.get("event") in answers and e.get("source") == source]
