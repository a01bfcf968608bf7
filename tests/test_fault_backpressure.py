"""Faults: a stalled detector and a slow result consumer. Queues stay bounded, memory stays flat, and
nothing disappears silently.

- Stalled detector (a detector that sleeps: a fault no real input produces on demand, so it is injected
  by patching ``Detector.inspect`` in an in-process daemon). A free-running camera far faster than the
  detector: the queue never holds more than ``queue_size``, the surplus is counted as dropped
  ``behind``, and MQTT parts sent meanwhile displace camera frames and are all answered. With MQTT
  parts only, a part that finds the queue full waits ``backpressure_timeout_s`` and is then answered
  ``rejected/queue_full``.
- Slow result consumer: a subscriber that never reads (the broker absorbs it), then a link to the
  broker that stops reading and acknowledging (a TCP proxy that stalls): the daemon's outgoing queue
  stops at ``max_queued_messages``, the excess is shed and counted, RSS stays flat, /metrics answers
  and frames are still inspected; once the link flows again results are delivered.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from inspectd.config import parse_config
from inspectd.daemon.service import Daemon
from inspectd.detector import Detector
from support.images import encode, json_part
from support.line import (
    CAMERA, IMAGE_TOPIC, INPUT, PRODUCT, accounted, assert_all_accounted, image_folder_camera, line_config,
    logged_answers,
)
from support.process_stats import sample
from support.tcp_proxy import StallingProxy

STALL_S = 0.25
RSS_GROWTH_LIMIT_MIB = 25.0


@pytest.fixture
def stalled_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every detector call takes STALL_S longer than it should."""
    inspect = Detector.inspect

    def slow_inspect(self, images):
        time.sleep(STALL_S)
        return inspect(self, images)

    monkeypatch.setattr(Detector, "inspect", slow_inspect)


def _frames_folder(folder: Path, images, count: int) -> Path:
    folder.mkdir()
    for i in range(count):
        (folder / f"part{i:03d}.jpg").write_bytes(encode(images[1 + i % (len(images) - 1)]))
    return folder


def _count(daemon: Daemon, name: str, **labels: str) -> float:
    """Sum of the in-process daemon's samples named ``name`` whose labels include ``labels``."""
    return sum(s.value for family in daemon.metrics.registry.collect() for s in family.samples
               if s.name == name and labels.items() <= s.labels.items())


def _books(daemon: Daemon, source: str) -> dict[str, float]:
    return {kind: _count(daemon, f"inspectd_frames_{kind}_total", source=source)
            for kind in ("received", "processed", "dropped", "failed")}


def _wait(done, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"no {what} after {timeout_s}s"
        time.sleep(0.05)


def test_stalled_detector_free_running_camera(stalled_detector, tmp_path: Path, mqtt_broker, banks_dir: Path,
                                              golden_images, line_client) -> None:
    queue_size, camera_fps, parts = 4, 100.0, 6
    config = line_config(mqtt_broker, banks_dir, cameras=[image_folder_camera(
        _frames_folder(tmp_path / "frames", golden_images, 7), camera_fps)])
    config["products"][PRODUCT] |= {"queue_size": queue_size, "max_batch": 2}
    plc = line_client(mqtt_broker, "plc", subscriptions=(f"inspectd/{INPUT}/result",))
    daemon = Daemon(parse_config(config))
    daemon.start()
    depths = []
    try:
        _wait(lambda: _count(daemon, "inspectd_frames_processed_total", source=CAMERA) >= 2, "first results")
        rss_start = sample(os.getpid(), 0.0).rss_mib
        sender = threading.Thread(target=lambda: [
            plc.publish(IMAGE_TOPIC, json_part(encode(golden_images[1 + i]), f"part-{i}")) for i in range(parts)])
        sender.start()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            depths.append(_count(daemon, "inspectd_queue_depth", product=PRODUCT))
            time.sleep(0.01)
        sender.join()
        answers = plc.wait_results(parts)
        rss_end = sample(os.getpid(), 3.0).rss_mib
    finally:
        daemon.stop()
    camera, line = _books(daemon, CAMERA), _books(daemon, INPUT)

    assert max(depths) <= queue_size, max(depths)
    assert camera["received"] == camera["processed"] + camera["dropped"] + camera["failed"], camera
    assert _count(daemon, "inspectd_frames_dropped_total", source=CAMERA, reason="behind") == camera["dropped"] > 0
    assert camera["failed"] == 0
    # parts displace camera frames: each one inspected and answered, none dropped
    assert sorted(r["part_id"] for r in answers) == [f"part-{i}" for i in range(parts)]
    assert all(r["verdict"] in ("pass", "fail") for r in answers)
    assert line == {"received": parts, "processed": parts, "dropped": 0, "failed": 0}, line
    assert rss_end - rss_start < RSS_GROWTH_LIMIT_MIB, (rss_start, rss_end)
    print(f"stalled detector ({STALL_S}s/call) vs {camera_fps:g} fps camera: max queue depth {max(depths)} "
          f"of {queue_size}; camera {camera}; parts {line}; test process RSS {rss_start:.0f} -> {rss_end:.0f} MiB")


def test_stalled_detector_rejects_parts_after_backpressure_timeout(stalled_detector, mqtt_broker, banks_dir: Path,
                                                                   golden_images, line_client) -> None:
    parts, timeout_s = 10, 0.2
    config = line_config(mqtt_broker, banks_dir)
    config["products"][PRODUCT] |= {"queue_size": 2, "max_batch": 1}
    config["mqtt_inputs"][0]["backpressure_timeout_s"] = timeout_s
    plc = line_client(mqtt_broker, "plc", subscriptions=(f"inspectd/{INPUT}/result",))
    daemon = Daemon(parse_config(config))
    daemon.start()
    try:
        for i in range(parts):
            plc.publish(IMAGE_TOPIC, json_part(encode(golden_images[1 + i % 7]), f"part-{i}"))
        answers = {r["part_id"]: r for r in plc.wait_results(parts)}
        _wait(lambda: sum(_books(daemon, INPUT)[k] for k in ("processed", "dropped", "failed")) == parts, "books")
    finally:
        daemon.stop()
    books = _books(daemon, INPUT)

    assert sorted(answers) == sorted(f"part-{i}" for i in range(parts))
    rejected = [r for r in answers.values() if r["verdict"] == "rejected"]
    inspected = [r for r in answers.values() if r["verdict"] in ("pass", "fail")]
    assert len(rejected) + len(inspected) == parts and rejected and len(inspected) >= 3
    assert {r["error"]["reason"] for r in rejected} == {"queue_full"}
    assert_all_accounted(books, parts)
    assert _count(daemon, "inspectd_frames_dropped_total", source=INPUT, reason="queue_full") == len(rejected)
    print(f"stalled detector, {parts} parts, queue 2, backpressure {timeout_s}s: {len(inspected)} inspected, "
          f"{len(rejected)} rejected/queue_full; books {books}")


def test_slow_result_consumer_keeps_outgoing_queue_bounded(tmp_path: Path, mqtt_broker, banks_dir: Path,
                                                           golden_images, start_daemon, line_client) -> None:
    frames, fps, stall_s = 60, 10.0, 3.0
    folder = _frames_folder(tmp_path / "frames", golden_images, frames)
    proxy = StallingProxy(mqtt_broker)
    try:
        camera = {**image_folder_camera(folder, fps), "source": {"type": "image_folder", "uri": str(folder)}}
        config = line_config(proxy.broker, banks_dir, cameras=[camera])
        config["broker"]["max_queued_messages"] = 10
        stuck = line_client(mqtt_broker, "stuck", subscriptions=("inspectd/#",))
        stuck.client.loop_stop()  # subscribed, never reads: the broker queues (and drops) for it
        plc = line_client(mqtt_broker, "plc", subscriptions=(f"inspectd/{CAMERA}/result",))
        daemon = start_daemon(config)
        pid = daemon.process.pid
        plc.wait_results(5)
        assert daemon.metric("inspectd_mqtt_messages_shed_total") == 0  # a stuck subscriber is the broker's problem

        proxy.stall()
        processed_before = daemon.metric("inspectd_frames_processed_total", source=CAMERA)
        rss = []
        for i in range(int(stall_s / 0.5)):
            time.sleep(0.5)
            rss.append(sample(pid, i * 0.5).rss_mib)
        assert daemon.metric("inspectd_frames_processed_total", source=CAMERA) > processed_before  # still inspecting
        shed_while_stalled = daemon.metric("inspectd_mqtt_messages_shed_total")
        assert shed_while_stalled > 0
        proxy.resume()

        results_at_resume = len(plc.results())
        plc.wait_results(results_at_resume + 3)
        _wait(lambda: sum((c := accounted(daemon, CAMERA))[k] for k in ("processed", "dropped", "failed"))
              == c["received"] == frames, "all frames accounted")
        counts = accounted(daemon, CAMERA)
        shed = daemon.metric("inspectd_mqtt_messages_shed_total")
        assert daemon.terminate() == 0
    finally:
        proxy.close()

    assert_all_accounted(counts, frames)
    shed_log = daemon.logged("mqtt_message_shed")
    assert len(shed_log) == shed
    answered = {e["frame_id"] for e in logged_answers(daemon, CAMERA)}
    expected = len(answered) - [e["topic"] for e in shed_log].count(f"inspectd/{CAMERA}/result")
    plc.wait_for(lambda: len({r["frame_id"] for r in plc.results()}) >= expected, f"{expected} results", 20)
    assert {r["frame_id"] for r in plc.results()} <= answered
    assert max(rss) - min(rss) < RSS_GROWTH_LIMIT_MIB, rss
    print(f"slow consumer: link stalled {stall_s}s with max_queued_messages 10: {shed:.0f} messages shed "
          f"(counted and logged), {expected} of {len(answered)} answers delivered; frames {counts}; "
          f"daemon RSS while stalled {min(rss):.0f}..{max(rss):.0f} MiB")
