"""Fault: a camera stream dies and comes back. A looping video-file camera whose file is renamed away
mid-run and back, then truncated in place and restored: each time the source reports down (log line,
``inspectd_source_up 0``, retained state ``up: false``), retries with a growing backoff, and comes back
(``up: true``, new results). Frames in = results out + counted drops and failures.

A real RTSP server stopping, stalling or never answering: tests/test_sources_rtsp.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np

from support.images import IMAGE_SIDE
from support.line import CAMERA, PRODUCT, accounted, line_config, logged_answers

VIDEO_FPS = 10.0


def _write_video(path: Path, images: list[np.ndarray]) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), VIDEO_FPS, (IMAGE_SIDE, IMAGE_SIDE))
    for image in images:
        writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    writer.release()


def _states(plc) -> list[bool]:
    return [json.loads(payload)["up"] for _, payload in plc.received(f"/{CAMERA}/state")]


def _wait_metric(daemon, name: str, value: float, timeout_s: float = 10.0, **labels: str) -> None:
    deadline = time.monotonic() + timeout_s
    while daemon.metric(name, **labels) != value:
        assert time.monotonic() < deadline, f"{name}{labels} != {value} after {timeout_s}s"
        time.sleep(0.05)


def test_video_file_vanishes_and_comes_back(tmp_path: Path, mqtt_broker, banks_dir: Path, golden_images,
                                            start_daemon, line_client) -> None:
    video = tmp_path / "line.avi"
    _write_video(video, golden_images[1:5])
    good_bytes = video.read_bytes()
    away = tmp_path / "line.avi.away"
    camera = {"name": CAMERA, "source": {"type": "opencv", "uri": str(video), "loop": True}, "product": PRODUCT,
              "fps": VIDEO_FPS, "reconnect_min_s": 0.2, "reconnect_max_s": 0.8}
    # subscribed before the daemon starts: results are not retained, so a later subscriber misses the first
    plc = line_client(mqtt_broker, "plc", subscriptions=(f"inspectd/{CAMERA}/state", f"inspectd/{CAMERA}/result"))
    daemon = start_daemon(line_config(mqtt_broker, banks_dir, cameras=[camera]))
    outages = []

    def outage(break_file, restore_file, name: str) -> None:
        failures_before = len(daemon.logged("source_open_failed"))
        break_file()
        failed = daemon.wait_for("source_open_failed", count=failures_before + 3, timeout_s=15)[failures_before:]
        _wait_metric(daemon, "inspectd_source_up", 0, source=CAMERA)
        plc.wait_for(lambda: _states(plc)[-1:] == [False], "state up: false")
        retry_s = [e["retry_s"] for e in failed]
        assert retry_s == sorted(retry_s) and retry_s[-1] > retry_s[0], f"no backoff: {retry_s}"
        results_before = len(plc.results())
        restore_file()
        plc.wait_results(results_before + 3, timeout_s=20)
        _wait_metric(daemon, "inspectd_source_up", 1, source=CAMERA)
        assert _states(plc)[-1] is True
        outages.append(f"{name}: {len(failed)}+ open failures, retry_s {retry_s}")

    plc.wait_results(3)
    assert daemon.metric("inspectd_source_up", source=CAMERA) == 1
    outage(lambda: video.rename(away), lambda: away.rename(video), "renamed away and back")
    outage(lambda: video.write_bytes(good_bytes[:300]), lambda: video.write_bytes(good_bytes),
           "truncated in place and restored")

    # a late subscriber learns the source is down from the retained state
    video.rename(away)
    _wait_metric(daemon, "inspectd_source_up", 0, source=CAMERA)
    late = line_client(mqtt_broker, "late", subscriptions=(f"inspectd/{CAMERA}/state",))
    late.wait_for(lambda: bool(late.received("/state")), "retained state")
    assert _states(late) == [False]

    # the source is down, so the books close: every frame taken is answered or counted as dropped
    deadline = time.monotonic() + 20
    while (counts := accounted(daemon, CAMERA))["received"] != counts["processed"] + counts["dropped"] + counts["failed"]:
        assert time.monotonic() < deadline, counts
        time.sleep(0.1)
    answered = {e["frame_id"] for e in logged_answers(daemon, CAMERA)}
    plc.wait_for(lambda: {r["frame_id"] for r in plc.results()} >= answered, "every answer on MQTT")
    assert counts["failed"] == 0 and counts["processed"] + counts["failed"] == len(answered), counts
    assert daemon.terminate() == 0
    print(f"camera file outages: {outages}; frames {counts}")
