"""A part that arrives once the daemon's shutdown holds incoming messages (its answers could no longer be published)
is neither answered nor acknowledged: the broker keeps it in the daemon's persistent session and the next daemon
answers it. Before, a part arriving in the last moments of a shutdown was acknowledged on arrival, answered after
the results had been flushed, and lost (fresh-clone CI, tests/test_fault_signals.py: 58 of 60 parts answered after
a SIGTERM mid-stream)."""

from __future__ import annotations

import time

from support.inprocess import MqttListener, daemon_config, fit_product_bank, json_frame, running_daemon, small_images

PREFIX = "line7"


def _config(banks, broker) -> dict:
    config = daemon_config(banks, broker, prefix=PREFIX, mqtt_inputs=[{"name": "station", "topic": "parts",
                                                                      "product": "bottle"}])
    config["products"] = {"bottle": config["products"]["bottle"]}
    return config


def test_a_part_held_at_shutdown_is_answered_by_the_next_daemon(mqtt_broker, tmp_path, data_root):
    banks = tmp_path / "banks"
    fit_product_bank(banks, data_root, "bottle")
    image = small_images(data_root, "bottle", "train/good", 1, offset=3)[0]
    listener = MqttListener(mqtt_broker, f"{PREFIX}/#")
    try:
        with running_daemon(_config(banks, mqtt_broker)) as daemon:
            listener.publish("parts", json_frame(image, part_id="before"))
            listener.wait_for(f"{PREFIX}/station/result", 1, timeout_s=60)
            daemon.mqtt.hold_incoming()  # as the daemon's shutdown does once the workers have drained
            listener.publish("parts", json_frame(image, part_id="while-stopping"))
            time.sleep(1.0)
            assert [r["part_id"] for r in listener.json_messages(f"{PREFIX}/station/result")] == ["before"]
        with running_daemon(_config(banks, mqtt_broker)):  # same client id: the session still holds the part
            listener.wait_for(f"{PREFIX}/station/result", 2, timeout_s=60)
    finally:
        listener.close()
    results = listener.json_messages(f"{PREFIX}/station/result")
    assert [r["part_id"] for r in results] == ["before", "while-stopping"]
    assert results[1]["verdict"] in ("pass", "fail"), results[1]
