"""Fault: the broker restarts mid-stream. inspectd reconnects with backoff, its persistent session
resumes, and results produced while the broker was away are queued and delivered afterwards; with a
small outgoing queue the excess is shed and counted, never silently lost."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from support.broker import start_mosquitto, stop_process
from support.images import encode
from support.line import CAMERA, image_folder_camera, line_config, logged_answers

BROKER_DOWN_S = 3.0
CAMERA_FPS = 5.0


@pytest.mark.parametrize("max_queued_messages", [1000, 10], ids=["queue_holds_backlog", "queue_sheds_excess"])
def test_broker_restart_mid_stream(tmp_path: Path, banks_dir: Path, golden_images, start_daemon, line_client,
                                   max_queued_messages: int) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, image in enumerate(golden_images[1:4]):
        (frames / f"part{i}.jpg").write_bytes(encode(image))
    broker_dir = tmp_path / "mosquitto"
    broker_dir.mkdir()
    process, broker = start_mosquitto(broker_dir, persistent=True)
    config = line_config(broker, banks_dir, cameras=[image_folder_camera(frames, CAMERA_FPS)])
    config["broker"]["max_queued_messages"] = max_queued_messages
    # subscribed before the daemon starts: results are not retained, so a later subscriber misses the first
    plc = line_client(broker, "plc", subscriptions=("inspectd/+/result",), session_expiry_s=300)
    daemon = start_daemon(config)
    plc.wait_results(3)

    stop_process(process)
    daemon.wait_for("mqtt_disconnected")
    assert daemon.metric("inspectd_broker_connected") == 0
    time.sleep(BROKER_DOWN_S)  # the camera keeps delivering; results wait in the outgoing queue
    process, broker = start_mosquitto(broker_dir, port=broker.port, persistent=True)
    try:
        reconnected = daemon.wait_for("mqtt_connected", count=2, timeout_s=20)[-1]
        assert reconnected["session_present"] is True
        assert daemon.metric("inspectd_broker_connected") == 1
        time.sleep(1.0)
        assert daemon.terminate() == 0

        answered = {e["frame_id"] for e in logged_answers(daemon, CAMERA)}
        shed_topics = [e["topic"] for e in daemon.logged("mqtt_message_shed")]
        expected = len(answered) - shed_topics.count(f"inspectd/{CAMERA}/result")
        plc.wait_for(lambda: len(_delivered_ids(plc)) >= expected, f"{expected} distinct results", timeout_s=20)
        delivered = _delivered_ids(plc)
        assert len(delivered) == expected and delivered <= answered  # QoS 1 may repeat one: at least once
        if max_queued_messages >= 1000:
            assert not shed_topics
        else:
            assert shed_topics, "a 10-message queue held a 3 s backlog of results and heatmaps"
        print(f"broker restart (queue {max_queued_messages}): {len(answered)} answered, {len(shed_topics)} "
              f"messages shed, {len(delivered)} distinct results delivered ({len(plc.results())} with repeats)")
    finally:
        stop_process(process)


def _delivered_ids(plc) -> set[str]:
    return {r["frame_id"] for r in plc.results() if r["source"] == CAMERA}
