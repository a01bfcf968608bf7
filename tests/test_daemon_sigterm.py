"""SIGTERM mid-stream: the daemon drains, answers what it took in, goes offline, exits 0. Parts sent
while it is down wait in its persistent session and are answered after the restart. Logs are JSON lines
with the frame id on every frame line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from support.inprocess import MqttListener, daemon_config, fit_both_products, json_frame, small_images

FRAMES = 30
FRAMES_WHILE_DOWN = 10
INSPECTD = str(Path(sys.executable).with_name("inspectd"))


def _start(config_path: Path, log_path: Path) -> subprocess.Popen:
    return subprocess.Popen([INSPECTD, "run", "--config", str(config_path)], stdout=open(log_path, "wb"),
                            stderr=subprocess.STDOUT)


def test_sigterm_drains_and_restart_resumes_session(mqtt_broker, tmp_path, data_root):
    banks = fit_both_products(tmp_path / "banks", data_root)
    inputs = [{"name": "station", "topic": "parts/line3", "product": "bottle"}]
    config = daemon_config(banks, mqtt_broker, prefix="line3", mqtt_inputs=inputs, logging={"level": "info"})
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    listener = MqttListener(mqtt_broker, "line3/#")
    images = small_images(data_root, "bottle", "test/good", 3)
    first = second = None
    try:
        first = _start(config_path, tmp_path / "first.log")
        listener.wait_for("line3/station/state", 2, timeout_s=90)  # subscribed
        for i in range(FRAMES):
            listener.publish("parts/line3", json_frame(images[i % 3], part_id=f"p{i}"))
        listener.wait_for("line3/station/result", 1)
        first.send_signal(signal.SIGTERM)
        first_exit = first.wait(timeout=60)
        assert listener.messages["line3/available"][-1] == b"offline"
        answered_by_first = listener.json_messages("line3/station/result")
        for i in range(FRAMES, FRAMES + FRAMES_WHILE_DOWN):
            listener.publish("parts/line3", json_frame(images[i % 3], part_id=f"p{i}"))

        second = _start(config_path, tmp_path / "second.log")
        assert listener.wait_for("line3/available", 3, timeout_s=90)[-1] == b"online"
        deadline = time.monotonic() + 90
        while len(listener.messages["line3/station/result"]) < FRAMES + FRAMES_WHILE_DOWN and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        second.send_signal(signal.SIGTERM)
        second_exit = second.wait(timeout=60)
        results = listener.json_messages("line3/station/result")
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
        listener.close()

    assert (first_exit, second_exit) == (0, 0)
    assert Counter(r["part_id"] for r in answered_by_first) == Counter({f"p{i}": 1 for i in range(FRAMES)})
    total = FRAMES + FRAMES_WHILE_DOWN
    assert Counter(r["part_id"] for r in results) == Counter({f"p{i}": 1 for i in range(total)})
    assert {r["verdict"] for r in results} <= {"pass", "fail", "rejected"}
    assert all(r["error"]["reason"] == "shutting_down" for r in results if r["verdict"] == "rejected")

    lines = [json.loads(line) for line in (tmp_path / "first.log").read_text().splitlines() if line.strip()]
    frame_lines = [line for line in lines if line["event"] in ("result", "frame_rejected", "frame_failed")]
    assert frame_lines and all(line.get("frame_id") for line in frame_lines)
    assert lines[-1]["event"] == "stopped"
    # the disconnect the daemon asks for on the way out is no warning
    assert [(line["event"], line["level"]) for line in lines if line["event"] == "mqtt_disconnected"] == [
        ("mqtt_disconnected", "info")]
