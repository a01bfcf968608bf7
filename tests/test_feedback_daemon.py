"""Feedback through a running daemon and a real mosquitto: the frame is found by id on disk, joins the
bank as a new version, and the daemon hot-swaps to it; a defective-marked frame changes nothing."""

from __future__ import annotations

import json
import time

from typer.testing import CliRunner

from support.inprocess import MqttListener, daemon_config, fit_product_bank, json_frame, running_daemon, small_images

from inspectd.cli import app
from inspectd.detector import BankStore


def test_feedback_topic_adds_frame_and_daemon_swaps(mqtt_broker, tmp_path, data_root):
    banks = tmp_path / "banks"
    fit_product_bank(banks, data_root, "bottle")
    good, defect = small_images(data_root, "bottle", "test/good", 1)[0], small_images(data_root, "bottle", "test/contamination", 1)[0]
    inputs = [{"name": "station", "topic": "parts/bottle", "product": "bottle"}]
    config = daemon_config(banks, mqtt_broker, prefix="line7", mqtt_inputs=inputs, commands={"enabled": True},
                           storage={"results_dir": str(tmp_path / "results")})
    listener = MqttListener(mqtt_broker, "line7/#")
    try:
        with running_daemon(config):
            listener.publish("parts/bottle", json_frame(good, part_id="p0"))
            listener.publish("parts/bottle", json_frame(defect, part_id="p1"))
            first = {r["part_id"]: r for r in _results(listener, 2)}
            listener.publish("line7/bottle/feedback/set", json.dumps(
                {"frame_id": first["p1"]["frame_id"], "label": "defective"}).encode())
            listener.publish("line7/bottle/feedback/set", json.dumps(
                {"frame_id": first["p0"]["frame_id"], "label": "good"}).encode())
            _wait_event(listener, "bank_swapped")
            listener.publish("parts/bottle", json_frame(good, part_id="p2"))
            again = _results(listener, 3)[-1]
        events = listener.json_messages("line7/events")
    finally:
        listener.close()

    # the command line names the frame by the id the operator gave, as the result carried it
    cli = CliRunner().invoke(app, ["feedback", "--product", "bottle", "--frame", first["p1"]["frame_id"], "--defective",
                                   "--banks", str(banks), "--results", str(tmp_path / "results")])
    assert cli.exit_code == 0, cli.output
    assert cli.output.startswith(f"bottle: frame {first['p1']['frame_id']} kept as defective (score ")

    applied = [e for e in events if e["event"] == "feedback_applied"]
    assert [(e["label"], e["version"]) for e in applied] == [("defective", None), ("good", "v0002")]
    assert first["p0"]["bank_version"] == "v0001" and again["bank_version"] == "v0002"
    assert again["score"] < first["p0"]["score"]
    manifest = json.loads((BankStore(banks).latest("bottle") / "manifest.json").read_text())
    assert [f["sha256"] for f in manifest["feedback"]["frames"]] == [applied[1]["frame_sha256"]]
    assert applied[0]["frame_sha256"] != applied[1]["frame_sha256"]


def _results(listener: MqttListener, count: int) -> list[dict]:
    listener.wait_for("line7/station/result", count)
    return listener.json_messages("line7/station/result")


def _wait_event(listener: MqttListener, name: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not any(e["event"] == name for e in listener.json_messages("line7/events")):
        assert time.monotonic() < deadline, f"no {name} event: {listener.json_messages('line7/events')}"
        time.sleep(0.1)
