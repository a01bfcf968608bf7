"""Sustained frames/s of an in-process daemon: JPEG frames over MQTT as fast as the broker takes them,
every result awaited, then a paced run below capacity for latency without a backlog."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from inspectd.daemon.service import Daemon

from support.inprocess import MqttListener, daemon_config, running_daemon, scrape

INPUT_TOPIC = "parts/bench"
RESULT_TOPIC = "bench/station/result"


def measure_throughput(broker: Any, banks_dir: Path, frames: list[bytes], burst: int, paced: int = 16,
                       paced_fps: float = 6.0, product: dict[str, Any] | None = None,
                       sections: dict[str, Any] | None = None,
                       attach: Callable[[Daemon], AbstractContextManager] | None = None) -> dict[str, Any]:
    """Figures of one daemon serving product ``bottle`` (its config section: ``product``; other config
    ``sections``) from ``banks_dir``; the frames are sent round-robin after one untimed warm-up frame.
    ``attach(daemon)``: what else runs while frames are timed (e.g. a console client)."""
    inputs = [{"name": "station", "topic": INPUT_TOPIC, "product": "bottle", "payload": "raw",
               "backpressure_timeout_s": 60}]
    section = {"banks_dir": str(banks_dir), "reload_poll_s": 0.2, **(product or {})}
    config = daemon_config(banks_dir, broker, prefix="bench", mqtt_inputs=inputs, products={"bottle": section},
                           **(sections or {}))
    listener = MqttListener(broker, "bench/+/result")
    try:
        with running_daemon(config) as daemon, (attach or (lambda _: nullcontext()))(daemon):
            listener.publish(INPUT_TOPIC, frames[0])
            listener.wait_for(RESULT_TOPIC, 1)
            started = time.monotonic()
            for i in range(burst):
                listener.publish(INPUT_TOPIC, frames[i % len(frames)])
            listener.wait_for(RESULT_TOPIC, burst + 1, timeout_s=60 + burst)
            elapsed_s = time.monotonic() - started
            metrics = scrape(daemon.metrics_port)
            for i in range(paced):
                listener.publish(INPUT_TOPIC, frames[i % len(frames)])
                time.sleep(1.0 / paced_fps)
            listener.wait_for(RESULT_TOPIC, burst + 1 + paced, timeout_s=60)
        answers = listener.json_messages(RESULT_TOPIC)
    finally:
        listener.close()
    results, paced_results = answers[1:burst + 1], answers[burst + 1:]
    stages = sorted({stage for r in results for stage in r["latency_ms"]})
    batch_key = (("product", "bottle"),)
    return {
        "frames": burst, "elapsed_s": round(elapsed_s, 2), "frames_per_s": round(burst / elapsed_s, 1),
        "verdicts": sorted({r["verdict"] for r in results + paced_results}),
        "mean_batch": round(metrics[("inspectd_batch_size_sum", batch_key)]
                            / metrics[("inspectd_batch_size_count", batch_key)], 2),
        "mean_latency_ms_per_stage": {stage: round(statistics.mean(r["latency_ms"].get(stage, 0.0) for r in results), 2)
                                      for stage in stages},
        "burst_p50_total_ms": round(statistics.median(r["latency_ms"]["total"] for r in results), 1),
        f"paced_{paced_fps:g}fps_p50_total_ms": round(statistics.median(r["latency_ms"]["total"] for r in paced_results), 1),
        f"paced_{paced_fps:g}fps_max_total_ms": round(max(r["latency_ms"]["total"] for r in paced_results), 1),
        "cpu_threads": os.cpu_count(),
    }
