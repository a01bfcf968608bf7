"""Operator feedback on an archived frame: ``inspectd feedback`` and ``<prefix>/<product>/feedback/set``.

The MQTT payload is JSON ``{"frame_id": "...", "label": "good" | "defective"}``. A good frame joins the
product's bank as a new version (the bank watcher swaps it in); a defective one is kept for reports.
Feedback runs on its own thread, one at a time, never on the MQTT network thread or a worker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from inspectd.config import InspectdConfig
from inspectd.daemon.banks import BankWatcher, EventPublisher
from inspectd.daemon.frame_archive import find_frame
from inspectd.daemon.mqtt import MqttConnection
from inspectd.daemon.topics import Topics
from inspectd.detector.feedback import FeedbackReport, Label, submit_feedback
from inspectd.images import read_rgb

LABELS = ("good", "defective")
T = TypeVar("T")


def feedback_on_frame(banks_dir: Path, results_dir: Path, product: str, frame: str, label: Label) -> FeedbackReport:
    """``frame`` is an archived frame id, or the path of an image file."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {LABELS}, got {label!r}")
    path = Path(frame) if Path(frame).is_file() else find_frame(results_dir, frame)
    return submit_feedback(banks_dir, product, read_rgb(path), label, frame_id=path.name.split(".")[0])


class FeedbackCommands:
    def __init__(self, config: InspectdConfig, topics: Topics | None, watcher: BankWatcher,
                 publish_event: EventPublisher, log) -> None:
        self._config = config
        self._topics = topics
        self._watcher = watcher
        self._publish_event = publish_event
        self._log = log.bind(component="feedback")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedback")

    def subscribe(self, mqtt: MqttConnection) -> None:
        commands = self._config.commands
        if commands.enabled and commands.feedback and self._topics is not None:
            mqtt.subscribe(self._topics.feedback_commands, self._on_feedback)

    def _on_feedback(self, topic: str, payload: bytes) -> None:
        product = self._topics.product_of_feedback(topic)
        try:
            request = json.loads(payload)
            frame_id, label = str(request["frame_id"]), request["label"]
        except (ValueError, KeyError, TypeError) as error:
            self._refuse(topic, f"payload must be JSON with frame_id and label: {error}")
            return
        self.submit(topic, product, frame_id, label)

    def submit(self, origin: str, product: str, frame_id: str, label: str) -> bool:
        """Queue feedback from any channel (``origin``: the MQTT topic, or ``console``); False (and a
        command_refused event) when it cannot apply."""
        if product not in self._config.products or label not in LABELS or self._config.storage is None:
            self._refuse(origin, f"unknown product {product!r}, label {label!r} not in {LABELS}, or no storage section")
            return False
        self._executor.submit(self._apply, origin, product, frame_id, label)
        return True

    def run_exclusive(self, job: Callable[[], T]) -> Future[T]:
        """Run another bank-changing job (a console rollback) on the feedback thread, so it never
        interleaves with feedback writing the next version of the same bank."""
        return self._executor.submit(job)

    def _apply(self, topic: str, product: str, frame_id: str, label: Label) -> None:
        try:
            report = feedback_on_frame(self._config.products[product].banks_dir, self._config.storage.results_dir,
                                       product, frame_id, label)
        except Exception as error:  # frame expired, bank unreadable, ...: report, keep serving
            self._refuse(topic, f"{type(error).__name__}: {error}")
            return
        event = {"event": "feedback_applied", "product": product, "frame_id": frame_id, "label": label,
                 "frame_sha256": report.frame_sha256, "score": report.frame_score,
                 "version": report.version_dir.name if report.version_dir else None,
                 "threshold": report.new_threshold}
        self._log.info(**event)
        self._publish_event(event)
        if report.version_dir is not None:
            self._watcher.request_reload(product)

    def _refuse(self, topic: str, why: str) -> None:
        self._log.warning("command_refused", command="feedback", topic=topic, reason=why)
        self._publish_event({"event": "command_refused", "command": "feedback", "topic": topic, "reason": why})


def feedback_from_cli(product: str, frame: str, label: Label, config_path: Path | None, banks_dir: Path | None,
                      results_dir: Path | None) -> FeedbackReport:
    """``inspectd feedback``: directories from the options, else from the config's product and storage."""
    if config_path is not None:
        from inspectd.config import load_config

        config = load_config(config_path)
        if product not in config.products:
            raise ValueError(f"product {product!r} is not in {config_path} (products: {sorted(config.products)})")
        banks_dir = banks_dir or config.products[product].banks_dir
        results_dir = results_dir or (config.storage.results_dir if config.storage else None)
    if banks_dir is None:
        raise ValueError("give --banks DIR or --config FILE")
    return feedback_on_frame(banks_dir, results_dir or Path("."), product, frame, label)
