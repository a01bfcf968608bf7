"""A bank refit while frames stream: swapped between frames, every frame answered; a bad bank refused."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from support.inprocess import (
    MqttListener, daemon_config, fit_both_products, fit_product_bank, json_frame, running_daemon,
    scrape, small_images,
)

FRAMES = 36
FRAME_INTERVAL_S = 0.08


def test_refit_hot_swapped_while_streaming_and_bad_bank_refused(mqtt_broker, tmp_path, data_root):
    banks = fit_both_products(tmp_path / "banks", data_root)
    inputs = [{"name": "bottle-station", "topic": "parts/bottle", "product": "bottle"}]
    images = small_images(data_root, "bottle", "test/good", 4)
    listener = MqttListener(mqtt_broker, "line3/#")
    try:
        with running_daemon(daemon_config(banks, mqtt_broker, prefix="line3", mqtt_inputs=inputs)) as daemon:
            def stream(first: int, count: int) -> None:
                for i in range(first, first + count):
                    listener.publish("parts/bottle", json_frame(images[i % len(images)], part_id=f"p{i}"))
                    time.sleep(FRAME_INTERVAL_S)

            streamer = threading.Thread(target=stream, args=(0, FRAMES))
            streamer.start()
            listener.wait_for("line3/bottle-station/result", 6)
            fit_product_bank(banks, data_root, "bottle", offset=2)  # inspectd refit writes v0002
            streamer.join()
            results = listener.wait_for("line3/bottle-station/result", FRAMES)

            corrupt = banks / "bottle" / "v0003"
            shutil.copytree(banks / "bottle" / "v0002", corrupt)
            (corrupt / "memory.npz").write_bytes(b"not a bank")
            listener.wait_for("line3/events", 4)  # loaded x2 at start, swapped, refused
            stream(FRAMES, 3)
            listener.wait_for("line3/bottle-station/result", FRAMES + 3)
            metrics = scrape(daemon.metrics_port)
        answers = listener.json_messages("line3/bottle-station/result")
        event_names = [e["event"] for e in listener.json_messages("line3/events")]
    finally:
        listener.close()

    assert len(results) >= FRAMES
    assert sorted(a["part_id"] for a in answers) == sorted(f"p{i}" for i in range(FRAMES + 3))
    assert all(a["verdict"] in ("pass", "fail") for a in answers)
    versions = [a["bank_version"] for a in answers]
    assert "v0001" in versions and "v0002" in versions
    first_v2 = versions.index("v0002")
    assert set(versions[first_v2:]) == {"v0002"}, "an old bank answered after the swap"
    assert event_names.count("bank_swapped") == 1 and event_names.count("bank_refused") == 1
    assert metrics[("inspectd_reloads_total", (("product", "bottle"), ("result", "refused")))] == 1
    assert metrics[("inspectd_reloads_total", (("product", "bottle"), ("result", "ok")))] == 2
    assert metrics[("inspectd_bank_version", (("product", "bottle"),))] == 2
    # two goldens: the larger of two hold-out scores is expected to reject about 1/3 of good parts
    assert metrics[("inspectd_bank_expected_false_reject", (("product", "bottle"),))] == pytest.approx(1 / 3, abs=1e-3)
