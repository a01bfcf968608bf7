"""End to end against a real mosquitto: two products, real images as MQTT frames, results, heatmaps,
metrics scraped over HTTP, bad payloads answered and counted."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from support.inprocess import (
    MqttListener, daemon_config, decode_image, encode, fit_both_products, json_frame,
    running_daemon, scrape, small_images,
)

DOCS = Path(__file__).resolve().parents[1] / "docs"
RESULT_FIELDS = {"frame_id", "part_id", "source", "product", "verdict", "score", "calibrated_score", "part_missing", "threshold",
                 "bank_version", "defects", "image", "latency_ms", "timestamps"}


@pytest.fixture(scope="module")
def banks_dir(tmp_path_factory, data_root):
    return fit_both_products(tmp_path_factory.mktemp("banks"), data_root)


def test_two_products_results_heatmaps_and_metrics(mqtt_broker, banks_dir, data_root):
    inputs = [
        {"name": "bottle-station", "topic": "plant/line3/bottle/image", "product": "bottle", "payload": "json"},
        {"name": "screw-station", "topic": "plant/line3/screw/image", "product": "screw", "payload": "raw",
         "max_payload_bytes": 200_000},
    ]
    config = daemon_config(banks_dir, mqtt_broker, prefix="line3", mqtt_inputs=inputs)
    bottles = small_images(data_root, "bottle", "test/good", 2) + small_images(data_root, "bottle", "test/broken_large", 2)
    screws = small_images(data_root, "screw", "test/good", 3)
    listener = MqttListener(mqtt_broker, "line3/#")
    try:
        with running_daemon(config) as daemon:
            assert listener.wait_for("line3/available", 1)[-1] == b"online"
            for i, image in enumerate(bottles):
                listener.publish("plant/line3/bottle/image", json_frame(image, part_id=f"b{i}"))
            for image in screws:
                listener.publish("plant/line3/screw/image", encode(image, ".png"))
            listener.publish("plant/line3/screw/image", b"\x89PNG not really")  # corrupt
            listener.publish("plant/line3/screw/image", b"x" * 300_000)  # over the cap
            listener.publish("plant/line3/bottle/image", encode(bottles[0]))  # raw JPEG to a JSON input

            bottle_results = [json.loads(p) for p in listener.wait_for("line3/bottle-station/result", 5)]
            screw_results = [json.loads(p) for p in listener.wait_for("line3/screw-station/result", 5)]
            heatmaps = listener.wait_for("line3/bottle-station/heatmap", 4)
            metrics = scrape(daemon.metrics_port)
        offline = listener.wait_for("line3/available", 2)[-1]
    finally:
        listener.close()

    answered = [r for r in bottle_results if r["verdict"] in ("pass", "fail")]
    assert sorted(r["part_id"] for r in answered) == ["b0", "b1", "b2", "b3"]
    for result in answered + [r for r in screw_results if r["verdict"] in ("pass", "fail")]:
        assert RESULT_FIELDS <= result.keys()
        assert result["bank_version"] == "v0001"
        assert 0.0 <= result["calibrated_score"] <= 1.0 and result["threshold"] > 0
        assert result["image"] == {"width": 128, "height": 128}
        assert {"queue", "backbone", "search", "total"} <= result["latency_ms"].keys()
        assert result["latency_ms"].keys() <= documented_stages("mqtt-api.md", "| `latency_ms` |")
        assert result["latency_ms"].keys() <= documented_stages("metrics.md", "| `inspectd_stage_latency_seconds` |")
    assert {r["verdict"] for r in answered} <= {"pass", "fail"}
    assert any(r["verdict"] == "fail" for r in answered if r["part_id"] in ("b2", "b3")), "broken bottles pass"
    for data in heatmaps:
        assert decode_image(data).shape[:2] == (128, 128)
    inline = [r for r in screw_results if r["verdict"] in ("pass", "fail")]
    assert len(inline) == 3 and all(r["product"] == "screw" for r in inline)
    for result in inline:
        assert result["heatmap"]["format"] == "png"
        assert decode_image(base64.b64decode(result["heatmap"]["base64"])).shape[:2] == (128, 128)
    errors = {r["error"]["reason"] for r in bottle_results + screw_results if r["verdict"] == "error"}
    assert errors == {"decode_error", "payload_too_large", "bad_json"}
    raw_to_json = [r["error"]["message"] for r in bottle_results if r["verdict"] == "error"]
    assert raw_to_json == ["mqtt input 'bottle-station' expects JSON with the image base64-encoded in its 'image' "
                           f"field, got raw JPEG bytes ({len(encode(bottles[0]))}): wrap the image as "
                           '{"image": "<base64>"}, or set the input\'s payload: raw']
    assert offline == b"offline"

    def value(name, **labels):
        return metrics.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("inspectd_frames_received_total", source="bottle-station") == 5
    assert value("inspectd_frames_received_total", source="screw-station") == 5
    assert value("inspectd_frames_processed_total", source="bottle-station") == 4
    assert value("inspectd_frames_processed_total", source="screw-station") == 3
    assert value("inspectd_frames_failed_total", source="screw-station", reason="decode_error") == 1
    assert value("inspectd_frames_failed_total", source="screw-station", reason="payload_too_large") == 1
    assert value("inspectd_frames_failed_total", source="bottle-station", reason="bad_json") == 1
    verdicts = sum(value("inspectd_verdicts_total", product=p, verdict=v) for p in ("bottle", "screw") for v in ("pass", "fail"))
    assert verdicts == 7
    assert value("inspectd_bank_version", product="bottle") == 1
    assert value("inspectd_bank_size", product="screw") > 0
    assert value("inspectd_broker_connected") == 1
    assert value("inspectd_source_up", source="bottle-station") == 1
    assert value("inspectd_anomaly_score_count", product="bottle") == 4
    assert value("inspectd_stage_latency_seconds_count", stage="backbone") == 7


def documented_stages(page: str, row_start: str) -> set[str]:
    """The backticked names in the table row of docs/``page`` that starts with ``row_start``."""
    row = next(line for line in (DOCS / page).read_text().splitlines() if line.startswith(row_start))
    return set(re.findall(r"`([a-z_]+)`", row.removeprefix(row_start)))


def test_heatmaps_only_for_failed_parts_when_asked(mqtt_broker, banks_dir, data_root):
    inputs = [{"name": "bottle-station", "topic": "plant/line3/bottle/image", "product": "bottle", "payload": "json"}]
    products = {"bottle": {"banks_dir": str(banks_dir), "heatmap": {"only_failures": True}}}
    config = daemon_config(banks_dir, mqtt_broker, prefix="nok", mqtt_inputs=inputs, products=products)
    bottles = small_images(data_root, "bottle", "test/good", 3) + small_images(data_root, "bottle", "test/broken_large", 3)
    listener = MqttListener(mqtt_broker, "nok/#")
    try:
        with running_daemon(config):
            for i, image in enumerate(bottles):
                listener.publish("plant/line3/bottle/image", json_frame(image, part_id=f"b{i}"))
            results = [json.loads(p) for p in listener.wait_for("nok/bottle-station/result", len(bottles))]
            failed = [r for r in results if r["verdict"] == "fail"]
            heatmaps = listener.wait_for("nok/bottle-station/heatmap", len(failed)) if failed else []
    finally:
        listener.close()
    passed = [r for r in results if r["verdict"] == "pass"]
    assert failed and passed, [r["verdict"] for r in results]  # both kinds, or the test shows nothing
    assert all("heatmap" in r for r in failed) and not any("heatmap" in r for r in passed)
    assert len(heatmaps) == len(failed)  # every result was in before this list was taken: no pass sent one
