"""Triggered camera, recipe change and reload commands, retained state, product from the message."""

from __future__ import annotations

import json

from support.inprocess import (
    MqttListener, daemon_config, encode, fit_both_products, fit_product_bank, json_frame,
    running_daemon, small_images,
)


def test_trigger_recipe_change_and_product_from_message(mqtt_broker, tmp_path, data_root):
    banks = fit_both_products(tmp_path / "banks", data_root)
    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(small_images(data_root, "bottle", "test/good", 2)):
        (folder / f"{i}.jpg").write_bytes(encode(image))
    cameras = [{"name": "cam-trig", "product": "bottle", "fps": 20, "trigger": {"mode": "topic"},
                "source": {"type": "image_folder", "uri": str(folder), "loop": True}}]
    inputs = [{"name": "mes", "topic": "parts/any"}]
    config = daemon_config(banks, mqtt_broker, prefix="line3", cameras=cameras, mqtt_inputs=inputs,
                           commands={"enabled": True})
    listener = MqttListener(mqtt_broker, "line3/#")
    try:
        with running_daemon(config):
            listener.wait_for("line3/cam-trig/state", 2)  # initial, then up
            listener.publish("line3/cam-trig/trigger", json.dumps({"part_id": "t1"}).encode())
            listener.wait_for("line3/cam-trig/result", 1)
            listener.publish("line3/cam-trig/product/set", b"screw")
            listener.publish("line3/cam-trig/product/set", b"no-such-product")
            listener.publish("line3/reload/set", b"bogus")
            listener.wait_for("line3/events", 5)  # 2 loaded, recipe_changed, 2 refused
            listener.publish("line3/cam-trig/trigger", b"t2")
            results = [json.loads(p) for p in listener.wait_for("line3/cam-trig/result", 2)]

            image = small_images(data_root, "screw", "test/good", 1)[0]
            listener.publish("parts/any", json_frame(image, part_id="m1", product="screw"))
            listener.publish("parts/any", json_frame(image, part_id="m2"))
            listener.publish("parts/any", json_frame(image, part_id="m3", product="../../etc"))
            mes = {r["part_id"]: r for r in (json.loads(p) for p in listener.wait_for("line3/mes/result", 3))}
        states = listener.json_messages("line3/cam-trig/state")
        events = listener.json_messages("line3/events")
    finally:
        listener.close()

    assert [(r["part_id"], r["product"], r["verdict"] in ("pass", "fail")) for r in results] == [
        ("t1", "bottle", True), ("t2", "screw", True)]
    assert states[-1]["product"] == "screw"
    assert [e["event"] for e in events].count("command_refused") == 2
    assert {"event": "recipe_changed", "source": "cam-trig", "product": "screw"} in events
    assert mes["m1"]["product"] == "screw" and mes["m1"]["verdict"] in ("pass", "fail")
    assert mes["m2"]["verdict"] == "error" and mes["m2"]["error"]["reason"] == "no_product"
    assert mes["m3"]["verdict"] == "error" and mes["m3"]["error"]["reason"] == "unknown_product"


def test_commands_are_off_by_default(mqtt_broker, tmp_path, data_root):
    banks = tmp_path / "banks"
    fit_product_bank(banks, data_root, "bottle")
    inputs = [{"name": "mes", "topic": "parts/any", "product": "bottle"}]
    config = daemon_config(banks, mqtt_broker, prefix="line3", mqtt_inputs=inputs)
    listener = MqttListener(mqtt_broker, "line3/#")
    try:
        with running_daemon(config):
            listener.wait_for("line3/mes/state", 2)
            listener.publish("line3/mes/product/set", b"screw")
            image = small_images(data_root, "bottle", "test/good", 1)[0]
            listener.publish("parts/any", json_frame(image, part_id="p1"))
            result = json.loads(listener.wait_for("line3/mes/result", 1)[0])
    finally:
        listener.close()
    assert result["product"] == "bottle"
