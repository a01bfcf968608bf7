"""Two daemon processes on one MQTT v5 shared subscription: every frame answered exactly once.
Then SIGTERM: both drain, go offline and exit 0."""

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

FRAMES = 24
INSPECTD = str(Path(sys.executable).with_name("inspectd"))


def test_two_daemons_share_an_image_topic(mqtt_broker, tmp_path, data_root):
    banks = fit_both_products(tmp_path / "banks", data_root)
    inputs = [{"name": "station", "topic": "parts/shared", "product": "bottle", "shared_group": "line3"}]
    listener = MqttListener(mqtt_broker, "a/#", "b/#")
    processes = []
    try:
        for prefix in ("a", "b"):
            config_path = tmp_path / f"{prefix}.yaml"
            config_path.write_text(yaml.safe_dump(daemon_config(banks, mqtt_broker, prefix=prefix, mqtt_inputs=inputs)))
            log = open(tmp_path / f"{prefix}.log", "wb")
            processes.append(subprocess.Popen([INSPECTD, "run", "--config", str(config_path)], stdout=log, stderr=subprocess.STDOUT))
        for prefix in ("a", "b"):
            assert listener.wait_for(f"{prefix}/available", 1, timeout_s=90)[-1] == b"online"
            listener.wait_for(f"{prefix}/station/state", 1)  # subscribed: the input reports up after subscribing
        images = small_images(data_root, "bottle", "test/good", 3)
        for i in range(FRAMES):
            listener.publish("parts/shared", json_frame(images[i % len(images)], part_id=f"s{i}"))
        answered: Counter[str] = Counter()
        result_topics = ("a/station/result", "b/station/result")
        deadline = time.monotonic() + 60
        while sum(answered.values()) < FRAMES and time.monotonic() < deadline:
            answered = Counter(json.loads(p)["part_id"] for t in result_topics for p in list(listener.messages[t]))
            time.sleep(0.1)
        time.sleep(0.5)  # a duplicate would arrive now
        answered = Counter(json.loads(p)["part_id"] for t in result_topics for p in list(listener.messages[t]))
        per_daemon = {t: len(listener.messages[t]) for t in result_topics}
        for process in processes:
            process.send_signal(signal.SIGTERM)
        exit_codes = [process.wait(timeout=60) for process in processes]
        offline = [listener.wait_for(f"{prefix}/available", 2)[-1] for prefix in ("a", "b")]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        listener.close()

    assert answered == Counter({f"s{i}": 1 for i in range(FRAMES)}), "a frame was lost or answered twice"
    assert all(count > 0 for count in per_daemon.values()), per_daemon
    assert exit_codes == [0, 0]
    assert offline == [b"offline", b"offline"]
