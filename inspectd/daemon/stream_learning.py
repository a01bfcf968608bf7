"""Stream learning and drift watch in the daemon (``products.<p>.stream_learning``; docs/stream-learning.md).

The worker hands every inspected frame to ``observe``, which only queues a reference (a bounded inbox: when the
learner is busy, frames are left out of the sample, never waited for). One learner thread per product, at the
lowest CPU priority, keeps the sample (the most recent ``sample_frames`` frames at the bank's frame size, with
their ids and whether they passed), feeds the drift watch, and fits a candidate (detector/stream_learning.py)
when the sample is due. A candidate that passes validation is written as the product's next bank version, which
the bank watcher swaps in as any version (and which is rolled back as any version, by removing it); one that
fails is reported and never written. Frames that were not inspected never reach ``observe``; frames an operator
marked defective (``inspectd feedback --defective`` or the feedback topic) are dropped from the sample.

A drift publishes a ``drift`` event and pauses learning until an operator acknowledges it
(``<prefix>/<product>/drift/ack``) or a bank that stream learning did not write (a refit) swaps in.

Memory per product: ``sample_frames`` x frame height x width x 3 bytes (50 frames at 320 x 320: 15 MB), plus
``INBOX`` decoded frames in flight, plus, during a fit, the sample's patch features (50 x 1600 x 152 float32:
49 MB) and the admission's distance blocks (about 20 MB).
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import Counter, Gauge

from inspectd.config import InspectdConfig
from inspectd.config.stream_learning import StreamLearningConfig
from inspectd.daemon.banks import BankWatcher, EventPublisher, ProductBank
from inspectd.daemon.frame import Frame
from inspectd.daemon.metrics import DaemonMetrics
from inspectd.daemon.mqtt import MqttConnection
from inspectd.daemon.topics import Topics
from inspectd.detector import BankStore, Detector, Inspection, load_bank
from inspectd.detector.drift import DriftRule, DriftWatch
from inspectd.detector.features import resize_to
from inspectd.detector.feedback import FEEDBACK_DIR
from inspectd.detector.stream_learning import StreamRule, StreamSample, fit_stream_candidate

INBOX = 8  # inspected frames waiting for the learner thread
FEATURE_BATCH = 8
LOWEST_PRIORITY = 19


@dataclass(frozen=True)
class Sampled:
    frame_id: str
    frame: np.ndarray  # RGB uint8 at the serving bank's frame shape
    passed: bool


class StreamMetrics:
    """The stream-learning metrics, registered on the daemon's registry (docs/metrics.md)."""

    def __init__(self, metrics: DaemonMetrics) -> None:
        r = metrics.registry
        self.sample_frames = Gauge("inspectd_stream_sample_frames", "Frames in a product's stream-learning sample",
                                   ["product"], registry=r)
        self.sample_bytes = Gauge("inspectd_stream_sample_bytes", "Bytes the product's stream sample holds",
                                  ["product"], registry=r)
        self.taken = Counter("inspectd_stream_frames_taken", "Inspected frames the learner took into its sample and "
                             "drift watch", ["product"], registry=r)
        self.skipped = Counter("inspectd_stream_frames_skipped", "Inspected frames left out of the sample (learner "
                               "busy)", ["product"], registry=r)
        self.candidates = Counter("inspectd_stream_candidates", "Stream-learned candidate banks by outcome: written, "
                                  "refused, failed", ["product", "result"], registry=r)
        self.drift = Gauge("inspectd_drift", "1 while a drift holds stream learning paused", ["product"], registry=r)
        self.drift_p_value = Gauge("inspectd_drift_p_value", "p-value of the last drift test (NaN: none yet)",
                                   ["product"], registry=r)


class ProductLearner:
    """One product's sample, drift watch and candidate fits, on its own thread."""

    def __init__(self, product: str, settings: StreamLearningConfig, bank: ProductBank, banks_dir: Path,
                 watcher: BankWatcher, metrics: StreamMetrics, publish_event: EventPublisher, log) -> None:
        self.product = product
        self.settings = settings
        self._bank = bank
        self._store = BankStore(banks_dir)
        self._watcher = watcher
        self._metrics = metrics
        self._publish_event = publish_event
        self._log = log.bind(product=product, component="stream_learning")
        self._inbox: queue.Queue = queue.Queue(INBOX)
        self._sample: deque[Sampled] = deque(maxlen=settings.sample_frames)
        drift = settings.drift
        self._drift = DriftWatch(DriftRule(drift.reference_frames, drift.window, drift.min_window, drift.alpha))
        self.paused = False
        self._since_fit = 0
        self._fits = 0
        self._version: str | None = None
        self._acknowledged = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream-{product}", daemon=True)
        metrics.drift.labels(product).set(0)
        metrics.drift_p_value.labels(product).set(float("nan"))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)

    def observe(self, frame: Frame, inspection: Inspection, version: str) -> None:
        """Worker thread: queue the frame for the learner, or leave it out when the inbox is full."""
        try:
            self._inbox.put_nowait((frame, inspection, version))
        except queue.Full:
            self._metrics.skipped.labels(self.product).inc()

    def acknowledge(self) -> None:
        """An operator saw the drift: learning resumes and the reference is taken afresh."""
        self._acknowledged.set()

    def _run(self) -> None:
        try:  # Linux: a thread's nice value is its own; the verdicts' threads keep theirs
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)
        except (AttributeError, OSError):
            pass
        while not self._stopping.is_set():
            if self._acknowledged.is_set():
                self._acknowledged.clear()
                self._resume("drift_acknowledged")
            try:
                frame, inspection, version = self._inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._take(frame, inspection, version)
            except Exception:  # never let the learner die: log, keep serving
                self._log.exception("stream_learning_failed")

    def _take(self, frame: Frame, inspection: Inspection, version: str) -> None:
        detector = self._bank.detector
        if detector is None:
            return
        if version != self._version:
            self._bank_changed(version, detector)
        if self.settings.drift.enabled and not self.paused:
            alarm = self._drift.observe(inspection.image_score, float(inspection.anomaly_map.mean()),
                                        float(frame.image.mean()))
            if self._drift.last_p_value is not None:
                self._metrics.drift_p_value.labels(self.product).set(self._drift.last_p_value)
            if alarm is not None:
                self._pause(alarm)
        self._sample.append(Sampled(frame.info.frame_id, resize_to(frame.image, detector.frame_shape),
                                    not inspection.is_defective))
        self._metrics.taken.labels(self.product).inc()
        self._metrics.sample_frames.labels(self.product).set(len(self._sample))
        self._metrics.sample_bytes.labels(self.product).set(sum(s.frame.nbytes for s in self._sample))
        self._since_fit += 1
        due = self.settings.min_frames if self._fits == 0 else self.settings.refit_every
        if not self.paused and len(self._sample) >= self.settings.min_frames and self._since_fit >= due:
            self._since_fit = 0
            self._fits += 1
            self._fit(detector)

    def _bank_changed(self, version: str, detector: Detector) -> None:
        """A new bank serves: its scores need a new drift reference; a bank stream learning did not write (a
        refit) also ends a drift pause."""
        first = self._version is None
        self._version = version
        self._drift.reset()
        if not first and self.paused and "stream_learning" not in detector.bank.manifest:
            self._resume("drift_cleared_by_refit")

    def _pause(self, alarm) -> None:
        self.paused = True
        self._metrics.drift.labels(self.product).set(1)
        event = {"event": "drift", "product": self.product, "statistic": alarm.statistic,
                 "p_value": alarm.p_value, "shift": round(alarm.shift, 4), "window": alarm.frames_in_window,
                 "reference": len(self._drift.reference), "bank_version": self._version,
                 "stream_learning": "paused until acknowledged or refitted"}
        self._log.warning(**event)
        self._publish_event(event)

    def _resume(self, why: str) -> None:
        was_paused, self.paused = self.paused, False
        self._drift.reset()
        self._metrics.drift.labels(self.product).set(0)
        event = {"event": why, "product": self.product, "was_paused": was_paused}
        self._log.info(**event)
        self._publish_event(event)

    def _fit(self, detector: Detector) -> None:
        started = time.monotonic()
        marked = marked_defective(self._store.product_dir(self.product))
        sample = [s for s in self._sample if s.frame_id not in marked]
        try:
            base = self._base_bank(detector)
            features = np.concatenate([
                detector.embedded_features(detector.framed([s.frame for s in sample[i:i + FEATURE_BATCH]])[1], {})
                for i in range(0, len(sample), FEATURE_BATCH)])
            candidate = fit_stream_candidate(base, StreamSample(features, [s.frame_id for s in sample],
                                                                np.array([s.passed for s in sample])), self.rule)
        except Exception as error:
            self._metrics.candidates.labels(self.product, "failed").inc()
            self._report("stream_candidate_failed", started, reason=f"{type(error).__name__}: {error}")
            return
        details = {"frames": len(sample), "left_out_marked_defective": len(self._sample) - len(sample),
                   "admitted_rows": candidate.admitted_rows, "threshold_before": base.threshold,
                   "threshold": candidate.threshold, "base_version": base.version}
        if not candidate.accepted:
            self._metrics.candidates.labels(self.product, "refused").inc()
            self._report("stream_candidate_refused", started, problems=candidate.problems, **details)
            return
        version_dir = self._store.write(self.product, candidate.bank)
        self._metrics.candidates.labels(self.product, "written").inc()
        self._report("stream_bank_written", started, version=version_dir.name, **details)
        self._watcher.request_reload(self.product)

    @property
    def rule(self) -> StreamRule:
        """The product's config, field by field (every rule parameter is a config key of the same name)."""
        return StreamRule(**{field.name: getattr(self.settings, field.name) for field in fields(StreamRule)})

    def _base_bank(self, detector: Detector):
        """The bank candidates grow from: the serving one, or the one a serving stream-learned bank grew from (so
        candidates never compound)."""
        base_version = detector.bank.manifest.get("stream_learning", {}).get("base_version")
        if base_version is None:
            return detector.bank
        return load_bank(self._store.product_dir(self.product) / base_version)

    def _report(self, name: str, started: float, **details: Any) -> None:
        event = {"event": name, "product": self.product, "fit_s": round(time.monotonic() - started, 2), **details}
        (self._log.info if name == "stream_bank_written" else self._log.warning)(**event)
        self._publish_event(event)


def marked_defective(product_dir: Path) -> set[str]:
    """Frame ids and sha256 digests of frames an operator marked defective (detector/feedback.py keeps them)."""
    marked: set[str] = set()
    for record in (product_dir / FEEDBACK_DIR / "defective").glob("*.json"):
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        marked.update(str(data[key]) for key in ("frame_id", "sha256") if data.get(key))
    return marked


class StreamLearning:
    """Every product's learner that the config enables; the drift acknowledgement topic."""

    def __init__(self, config: InspectdConfig, topics: Topics | None, banks: dict[str, ProductBank],
                 watcher: BankWatcher, metrics: DaemonMetrics, publish_event: EventPublisher, log) -> None:
        self._topics = topics
        self._commands = config.commands.enabled
        self._publish_event = publish_event
        self._log = log.bind(component="stream_learning")
        enabled = {name: product for name, product in config.products.items() if product.stream_learning.enabled}
        stream_metrics = StreamMetrics(metrics) if enabled else None
        self.learners = {name: ProductLearner(name, product.stream_learning, banks[name], product.banks_dir, watcher,
                                              stream_metrics, publish_event, log)
                         for name, product in enabled.items()}

    def observer(self, product: str):
        """The worker's hook for ``product`` (None where stream learning is off)."""
        learner = self.learners.get(product)
        return learner.observe if learner else None

    def start(self) -> None:
        for learner in self.learners.values():
            learner.start()

    def stop(self) -> None:
        for learner in self.learners.values():
            learner.stop()

    def subscribe(self, mqtt: MqttConnection) -> None:
        if self.learners and self._commands and self._topics is not None:
            mqtt.subscribe(self._topics.drift_ack_commands, self._on_ack)

    def _on_ack(self, topic: str, payload: bytes) -> None:
        product = self._topics.product_of_drift_ack(topic)
        if product not in self.learners:
            why = f"product {product!r} has no stream learning"
            self._log.warning("command_refused", command="drift_ack", topic=topic, reason=why)
            self._publish_event({"event": "command_refused", "command": "drift_ack", "topic": topic, "reason": why})
            return
        self.learners[product].acknowledge()
