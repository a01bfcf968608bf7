"""Prometheus metrics of one daemon, in its own registry (several daemons can share a process)."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, start_http_server

FRAME_AGE_BUCKETS_S = (0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0)
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0)


class DaemonMetrics:
    """Every metric the daemon exports; names and labels are documented in docs/metrics.md."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.frames_received = Counter("inspectd_frames_received", "Frames (or image messages) taken in", ["source"], registry=r)
        self.frames_processed = Counter("inspectd_frames_processed", "Frames inspected and answered with pass/fail", ["source"], registry=r)
        self.frames_dropped = Counter("inspectd_frames_dropped", "Frames not inspected on purpose (behind, rejected for lack of room)", ["source", "reason"], registry=r)
        self.frames_failed = Counter("inspectd_frames_failed", "Frames that could not be inspected (bad payload, no bank, error)", ["source", "reason"], registry=r)
        self.verdicts = Counter("inspectd_verdicts", "Verdicts given", ["product", "verdict"], registry=r)
        self.stage_latency = Histogram("inspectd_stage_latency_seconds", "Time spent per pipeline stage", ["stage"], buckets=LATENCY_BUCKETS_S, registry=r)
        self.anomaly_score = Histogram("inspectd_anomaly_score", "Image anomaly scores (calibrated: 0.5 at the threshold)", ["product"], buckets=SCORE_BUCKETS, registry=r)
        self.queue_depth = Gauge("inspectd_queue_depth", "Frames waiting for a product's detector", ["product"], registry=r)
        self.batch_size = Histogram("inspectd_batch_size", "Frames per detector call", ["product"], buckets=(1, 2, 4, 8, 16, 32, 64), registry=r)
        self.bank_version = Gauge("inspectd_bank_version", "Number of the bank version serving a product (vNNNN)", ["product"], registry=r)
        self.bank_size = Gauge("inspectd_bank_size", "Patch vectors in the serving bank", ["product"], registry=r)
        self.bank_expected_false_reject = Gauge(
            "inspectd_bank_expected_false_reject",
            "Share of good parts the serving bank's calibrated threshold is expected to reject (NaN: no estimate)",
            ["product"], registry=r)
        self.reloads = Counter("inspectd_reloads", "Bank reload attempts", ["product", "result"], registry=r)
        self.trigger_frame_age = Histogram(
            "inspectd_trigger_frame_age_seconds",
            "Age of the frame answering a trigger when it is handed on (now minus its capture time)",
            ["source"], buckets=FRAME_AGE_BUCKETS_S, registry=r)
        self.camera_frames_missed = Counter(
            "inspectd_camera_frames_missed", "Frames a camera made that never arrived whole (GenICam frame-id gaps, incomplete buffers)",
            ["source"], registry=r)
        self.source_up = Gauge("inspectd_source_up", "1 while a source delivers frames", ["source"], registry=r)
        self.broker_connected = Gauge("inspectd_broker_connected", "1 while connected to the MQTT broker", registry=r)
        self.mqtt_messages_shed = Counter("inspectd_mqtt_messages_shed", "Outgoing MQTT messages refused by the full outgoing queue", ["kind"], registry=r)
        self.sink_errors = Counter("inspectd_sink_errors", "Results a sink failed to deliver", ["sink"], registry=r)
        self.build_info = Info("inspectd_build", "Version of the running inspectd", registry=r)
        self.build_info.info({"version": _package_version(), "python": platform.python_version()})

    def serve(self, bind: str, port: int) -> Any:
        """Start the /metrics HTTP server in a daemon thread; returns the server (``server_port``)."""
        server, _thread = start_http_server(port, addr=bind, registry=self.registry)
        return server


def _package_version() -> str:
    try:
        return version("inspectd")
    except PackageNotFoundError:
        return "unknown"
