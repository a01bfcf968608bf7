"""GenICam source against Aravis' simulated GigE Vision camera on loopback (a real GVCP/GVSP peer).

Software trigger: each PLC trigger is answered by a frame exposed after it (the simulator stamps frames
with the host clock). Free-running: the simulator's rate is sustained, every frame taken is answered or
counted, frames lost on the way are counted. The camera vanishing and coming back, a feature it lacks,
and a machine without Aravis are reported as such."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from support.fake_genicam import ADDRESS, FakeCamera, require_aravis
from support.line import CAMERA, PRODUCT, accounted, line_config

TRIGGERS = 100
TRIGGER_HZ = 10.0
FREE_RUN_FPS = 25.0  # the simulator's own default rate


@pytest.fixture
def fake_camera():
    require_aravis()
    camera = FakeCamera().start()
    yield camera
    camera.stop()


def _camera(trigger: str = "free_run", **genicam) -> dict:
    settings = {"pixel_format": "Mono8", "region": {"width": 128, "height": 128}, "exposure_us": 2000.0,
                "gain": 1.0} | genicam
    return {"name": CAMERA, "source": {"type": "genicam", "uri": ADDRESS, "genicam": settings},
            "product": PRODUCT, "trigger": {"mode": trigger}, "reconnect_min_s": 0.2, "reconnect_max_s": 1.0}


def _states(client) -> list[bool]:
    return [json.loads(payload)["up"] for _, payload in client.received(f"/{CAMERA}/state")]


def _wait_metric(daemon, name: str, value: float, timeout_s: float, **labels: str) -> None:
    deadline = time.monotonic() + timeout_s
    while daemon.metric(name, **labels) != value:
        assert time.monotonic() < deadline, f"{name}{labels} != {value} after {timeout_s}s"
        time.sleep(0.05)


def test_software_trigger_answers_with_a_frame_exposed_after_it(fake_camera, mqtt_broker, banks_dir,
                                                                 start_daemon, line_client) -> None:
    plc = line_client(mqtt_broker, "plc", subscriptions=(f"inspectd/{CAMERA}/result",))
    daemon = start_daemon(line_config(mqtt_broker, banks_dir, cameras=[_camera("topic")]))
    daemon.wait_for("camera_connected", timeout_s=20)
    _wait_metric(daemon, "inspectd_source_up", 1, 10, source=CAMERA)
    fired_at = {}
    next_at = time.monotonic()
    for i in range(TRIGGERS):
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at += 1.0 / TRIGGER_HZ
        fired_at[f"part-{i}"] = time.time()
        plc.client.publish(f"inspectd/{CAMERA}/trigger", f"part-{i}", qos=1)
    results = {r["part_id"]: r for r in plc.wait_results(TRIGGERS, timeout_s=60)}
    assert set(results) == set(fired_at)
    assert {r["verdict"] for r in results.values()} <= {"pass", "fail"}, [r for r in results.values() if r.get("error")][:3]
    late = {p: r["timestamps"]["captured"] - fired_at[p] for p, r in results.items()}
    assert min(late.values()) > 0, f"frames exposed before their trigger: {sorted(late.items(), key=lambda x: x[1])[:3]}"
    assert all(r["timestamps"]["captured"] >= r["timestamps"]["received"] for r in results.values())
    assert daemon.metric("inspectd_trigger_frame_age_seconds_count", source=CAMERA) == TRIGGERS
    assert daemon.terminate() == 0
    ordered = sorted(late.values())
    print(f"trigger -> exposure: median {ordered[len(ordered) // 2] * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms")


@pytest.mark.parametrize("lost_per_thousand", [0, 20])
def test_free_running_keeps_the_simulator_rate_and_counts_losses(lost_per_thousand, fake_camera, mqtt_broker,
                                                                 banks_dir, start_daemon) -> None:
    """At the simulator's rate; with 2 % of stream packets lost about a fifth of the frames (12 packets
    each) arrive incomplete: they are not inspected and counted in camera_frames_missed."""
    if lost_per_thousand:
        fake_camera.stop()
        fake_camera.lost_per_thousand = lost_per_thousand
        fake_camera.start()
    daemon = start_daemon(line_config(mqtt_broker, banks_dir, cameras=[_camera(frame_rate=FREE_RUN_FPS)]))
    daemon.wait_for("camera_connected", timeout_s=20)
    start_received = daemon.metric("inspectd_frames_received_total", source=CAMERA)
    start_missed = daemon.metric("inspectd_camera_frames_missed_total", source=CAMERA)
    started = time.monotonic()
    time.sleep(5.0)
    received = daemon.metric("inspectd_frames_received_total", source=CAMERA) - start_received
    missed = daemon.metric("inspectd_camera_frames_missed_total", source=CAMERA) - start_missed
    elapsed = time.monotonic() - started
    made = FREE_RUN_FPS * elapsed
    assert received + missed == pytest.approx(made, rel=0.15), (received, missed, made)
    if lost_per_thousand:
        assert 0.05 * made < missed < 0.6 * made, (received, missed, made)
    else:
        assert received >= 0.8 * made, f"{received} frames in {elapsed:.1f}s at {FREE_RUN_FPS} fps"
    # the camera goes, the queues empty: every frame taken was inspected or counted as dropped
    fake_camera.stop()
    _wait_metric(daemon, "inspectd_source_up", 0, 10, source=CAMERA)
    deadline = time.monotonic() + 30
    while (counts := accounted(daemon, CAMERA))["received"] != counts["processed"] + counts["dropped"] + counts["failed"]:
        assert time.monotonic() < deadline, counts
        time.sleep(0.1)
    assert counts["failed"] == 0 and counts["processed"] > 0, counts
    assert daemon.terminate() == 0
    print(f"free-running: {received:.0f} taken + {missed:.0f} missed of ~{made:.0f} made in {elapsed:.1f}s; "
          f"books {counts}")


def test_camera_vanishes_and_comes_back(fake_camera, mqtt_broker, banks_dir, start_daemon, line_client) -> None:
    plc = line_client(mqtt_broker, "plc", subscriptions=(f"inspectd/{CAMERA}/state",))
    daemon = start_daemon(line_config(mqtt_broker, banks_dir, cameras=[_camera(frame_rate=10.0)]))
    _wait_metric(daemon, "inspectd_source_up", 1, 20, source=CAMERA)
    fake_camera.stop()
    _wait_metric(daemon, "inspectd_source_up", 0, 10, source=CAMERA)
    plc.wait_for(lambda: _states(plc)[-1:] == [False], "state up: false")
    daemon.wait_for("source_open_failed", timeout_s=15)
    fake_camera.start()
    back = time.monotonic()
    # reconnect_max_s + 2 s, plus one connection attempt that began while the camera was away (Aravis
    # gives up on an address after 2.5 s of unanswered GVCP)
    _wait_metric(daemon, "inspectd_source_up", 1, 1.0 + 2.0 + 2.5, source=CAMERA)
    up_after = time.monotonic() - back
    received = daemon.metric("inspectd_frames_received_total", source=CAMERA)
    deadline = time.monotonic() + 5
    while daemon.metric("inspectd_frames_received_total", source=CAMERA) <= received:
        assert time.monotonic() < deadline, "no frames after the camera came back"
        time.sleep(0.1)
    plc.wait_for(lambda: _states(plc)[-1:] == [True], "state up: true")
    assert daemon.terminate() == 0
    print(f"up again {up_after:.1f}s after the camera came back")


def test_hardware_trigger_waits_quietly_and_notices_the_camera_going(fake_camera, mqtt_broker, banks_dir,
                                                                    start_daemon) -> None:
    """Triggered on a line (the simulator's Line0, never pulsed): no frames, yet up past the read timeout,
    since a control read still answers; down once the camera goes."""
    daemon = start_daemon(line_config(mqtt_broker, banks_dir, cameras=[_camera(hardware_trigger="Line0")]))
    connected = daemon.wait_for("camera_connected", timeout_s=20)[0]
    assert connected["trigger"] == "Line0"
    _wait_metric(daemon, "inspectd_source_up", 1, 10, source=CAMERA)
    time.sleep(2.0 + 1.5)  # past read_timeout_s (2 s)
    assert daemon.metric("inspectd_source_up", source=CAMERA) == 1 and not daemon.logged("source_lost")
    assert daemon.metric("inspectd_frames_received_total", source=CAMERA) == 0
    fake_camera.stop()
    _wait_metric(daemon, "inspectd_source_up", 0, 10, source=CAMERA)
    daemon.wait_for("source_lost", timeout_s=10)
    assert daemon.terminate() == 0


def test_a_feature_the_camera_lacks_is_named_at_start(fake_camera, mqtt_broker, banks_dir, start_daemon) -> None:
    daemon = start_daemon(line_config(mqtt_broker, banks_dir, cameras=[_camera(features={"LightSource": "D65"})]))
    failed = daemon.wait_for("camera_setting_failed", timeout_s=20)[0]
    assert failed["feature"] == "LightSource" and "not found" in failed["error"].lower(), failed
    assert daemon.metric("inspectd_source_up", source=CAMERA) == 0
    assert daemon.terminate() == 0


def test_without_aravis_the_plugin_says_what_is_missing() -> None:
    """PyGObject hidden from the interpreter (the one fault injected by hand: the machine has it)."""
    script = ("import sys; sys.modules['gi'] = None\n"
              "from inspectd_plugins.sources.aravis_binding import AravisMissing, load_aravis\n"
              "try:\n    load_aravis()\nexcept AravisMissing as error:\n    print(error)\n")
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60).stdout
    assert "PyGObject" in output and "inspectd[genicam]" in output and "gir1.2-aravis-0.8" in output, output


def test_genicam_settings_are_checked_with_the_config() -> None:
    """Wrong values are named by key when the config is read, before any camera is touched."""
    from inspectd.config import ConfigError, parse_config

    genicam = {"exposure_us": -1, "pixel_format": "YUV422", "region": {"width": 0}, "gian": 2}
    with pytest.raises(ConfigError) as raised:
        parse_config({"products": {PRODUCT: {"banks_dir": "/banks"}},
                      "cameras": [{"name": CAMERA, "product": PRODUCT,
                                   "source": {"type": "genicam", "uri": ADDRESS, "genicam": genicam}}]})
    problems = "\n".join(raised.value.problems)
    for key in ("exposure_us", "pixel_format", "region.width", "region.height", "gian"):
        assert f"cameras[0].source.genicam.{key}:" in problems, problems


@pytest.mark.parametrize("pixel_format", ["Mono8", "Mono16", "RGB8", "BayerRG8"])
def test_each_pixel_format_the_simulator_sends_becomes_rgb(pixel_format, fake_camera) -> None:
    """The source alone (no daemon): the simulator's frames in this format arrive as HxWx3 uint8 RGB of
    the configured region, with the pattern it draws (not a blank)."""
    from inspectd_plugins.sources.genicam_camera import GenicamSource
    from support.source_harness import camera_config, source_context

    frames, up = [], threading.Event()
    settings = {"pixel_format": pixel_format, "region": {"width": 96, "height": 64, "x": 8, "y": 8}}
    source = GenicamSource(camera_config({"type": "genicam", "uri": ADDRESS, "genicam": settings}),
                           source_context(frames.append, up))
    source.start()
    try:
        deadline = time.monotonic() + 15
        while len(frames) < 3:
            assert time.monotonic() < deadline, f"{len(frames)} frames in {pixel_format}"
            time.sleep(0.05)
    finally:
        source.stop()
    image = frames[-1].image
    assert image.shape == (64, 96, 3) and image.dtype == np.uint8 and image.flags.c_contiguous
    assert image.std() > 5, f"{pixel_format}: a flat image"
    assert frames[-1].info.frame_size == (96, 64)
