"""Sustained end-to-end frames/s through the daemon (MQTT in -> result out) and where the time went.

Production detector settings (224 px input, graph embedder) except no rotated copies, so the bank fits
fast; real 512 px JPEG frames. The figures are printed (pytest -s) and, if $INSPECTD_BENCH_OUT names a
file, written there as JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import cv2

from inspectd.detector import AugmentationSet, BankStore, DetectorSettings, fit_bank

from support.inprocess import MqttListener, daemon_config, running_daemon, scrape, small_images

FRAMES = 48
PACED_FRAMES = 16
PACED_FPS = 6.0
BENCH_SETTINGS = DetectorSettings(augmentations=AugmentationSet(rotations=1))


def _full_size_jpegs(data_root: Path, count: int) -> list[bytes]:
    files = sorted((data_root / "mvtec_ad" / "bottle" / "test" / "good").glob("*.jpg"))[:count]
    return [f.read_bytes() for f in files]


def test_sustained_throughput_and_stage_breakdown(mqtt_broker, tmp_path, data_root):
    banks = tmp_path / "banks"
    goldens = [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
               for f in sorted((data_root / "mvtec_ad" / "bottle" / "train" / "good").glob("*.jpg"))[:2]]
    BankStore(banks).write("bottle", fit_bank(goldens, BENCH_SETTINGS))
    BankStore(banks).write("screw", fit_bank(small_images(data_root, "screw", "train/good", 2), BENCH_SETTINGS))
    frames = _full_size_jpegs(data_root, 8)
    inputs = [{"name": "station", "topic": "parts/bench", "product": "bottle", "payload": "raw",
               "backpressure_timeout_s": 30}]
    listener = MqttListener(mqtt_broker, "bench/+/result")
    try:
        with running_daemon(daemon_config(banks, mqtt_broker, prefix="bench", mqtt_inputs=inputs)) as daemon:
            listener.publish("parts/bench", frames[0])  # warm-up frame, not timed
            listener.wait_for("bench/station/result", 1)
            started = time.monotonic()
            for i in range(FRAMES):
                listener.publish("parts/bench", frames[i % len(frames)])
            listener.wait_for("bench/station/result", FRAMES + 1, timeout_s=180)
            elapsed_s = time.monotonic() - started
            metrics = scrape(daemon.metrics_port)
            for i in range(PACED_FRAMES):  # below capacity: latency without a backlog
                listener.publish("parts/bench", frames[i % len(frames)])
                time.sleep(1.0 / PACED_FPS)
            listener.wait_for("bench/station/result", FRAMES + 1 + PACED_FRAMES, timeout_s=60)
        answers = listener.json_messages("bench/station/result")
        results, paced = answers[1 : FRAMES + 1], answers[FRAMES + 1 :]
    finally:
        listener.close()

    assert all(r["verdict"] in ("pass", "fail") for r in results + paced)
    stages = sorted({stage for r in results for stage in r["latency_ms"]})
    breakdown = {stage: round(statistics.mean(r["latency_ms"].get(stage, 0.0) for r in results), 2) for stage in stages}
    batches = metrics[("inspectd_batch_size_sum", (("product", "bottle"),))] / metrics[("inspectd_batch_size_count", (("product", "bottle"),))]
    report = {"frames": FRAMES, "elapsed_s": round(elapsed_s, 2), "frames_per_s": round(FRAMES / elapsed_s, 2),
              "mean_batch": round(batches, 2), "mean_latency_ms_per_stage": breakdown,
              "burst_p50_total_ms": round(statistics.median(r["latency_ms"]["total"] for r in results), 1),
              f"paced_{PACED_FPS:g}fps_p50_total_ms": round(statistics.median(r["latency_ms"]["total"] for r in paced), 1),
              f"paced_{PACED_FPS:g}fps_max_total_ms": round(max(r["latency_ms"]["total"] for r in paced), 1),
              "cpu_threads": os.cpu_count()}
    print("\nthroughput:", json.dumps(report, indent=2))
    if os.environ.get("INSPECTD_BENCH_OUT"):
        Path(os.environ["INSPECTD_BENCH_OUT"]).write_text(json.dumps(report, indent=2))
    assert report["frames_per_s"] > 1.0
