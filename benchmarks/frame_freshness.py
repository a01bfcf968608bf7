"""How old the frame answering a trigger is, per camera type, measured against the frame's own capture time.

    OMP_NUM_THREADS=1 python benchmarks/frame_freshness.py --triggers 200 --rate 10

RTSP: GStreamer's RTSP server (tests/support/rtsp_server.py) streams frames that carry their capture
time drawn in pixels; the opencv source runs with the daemon's trigger latch, and at each trigger the
latched frame's drawn time is read back: age = trigger time - capture time (encode, RTP, decode and the
wait for the next frame included). GenICam: Aravis' simulated camera (arv-fake-gv-camera-0.8) stamps
buffers with the host clock at exposure; each trigger fires the software trigger and the answering
frame's age is the time it is handed on minus its exposure time (the trigger-to-exposure delay is
printed too). The daemon publishes the same quantity as inspectd_trigger_frame_age_seconds (for RTSP
measured from the moment the frame was read, which it can know). Target: p99 below one frame interval
+ 50 ms; each figure is printed with its ratio to that target, and the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from inspectd.daemon.frame import Frame  # noqa: E402
from inspectd.daemon.trigger import TriggerLatch  # noqa: E402
from support.broker import free_port  # noqa: E402
from support.frame_stamps import read_stamp  # noqa: E402
from support.source_harness import camera_config, source_context  # noqa: E402

FPS = 25.0
TARGET_MARGIN_S = 0.05
FPS_SETTLE_FRAMES = 25  # the first second: frames queued while the stream opened


def _fire(triggers: int, rate: float, trigger: Callable[[], None]) -> None:
    next_at = time.monotonic() + 1.0  # let the stream settle
    for _ in range(triggers):
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at += 1.0 / rate
        trigger()


def rtsp_ages(triggers: int, rate: float) -> tuple[list[float], list[float], list[float]]:
    """(true ages from the drawn capture time, ages from the read time the daemon knows, every frame's
    drawn-to-read delay: the server's encode, RTP and the decode), seconds."""
    from inspectd_plugins.sources.opencv_capture import VideoCaptureSource
    from support.rtsp_server import RtspServer

    server = RtspServer(free_port(), fps=FPS).start()
    true_ages, read_ages, read_delays = [], [], []

    def answered(frame: Frame) -> None:
        now = time.time()
        true_ages.append(now - read_stamp(frame.image) / 1000.0)
        read_ages.append(now - frame.info.captured_at)

    latch = TriggerLatch("cam", answered, lambda *_: None)

    def hold(frame: Frame) -> None:
        latch.hold(frame)
        read_delays.append(frame.info.captured_at - read_stamp(frame.image) / 1000.0)

    up = threading.Event()
    source = VideoCaptureSource(camera_config({"type": "opencv", "uri": server.url}, "topic"), source_context(hold, up))
    try:
        source.start()
        if not up.wait(15):
            raise RuntimeError("the RTSP stream did not open")
        _fire(triggers, rate, lambda: latch.on_trigger("t", b""))
    finally:
        source.stop()
        server.stop()
    return true_ages, read_ages, read_delays[FPS_SETTLE_FRAMES:]


def genicam_ages(triggers: int, rate: float) -> tuple[list[float], list[float]]:
    """(ages at hand-on from the exposure time, trigger-to-exposure delays), seconds."""
    from inspectd_plugins.sources.genicam_camera import GenicamSource
    from support.fake_genicam import ADDRESS, FakeCamera

    camera = FakeCamera().start()
    ages, delays, fired = [], [], []

    def answered(frame: Frame) -> None:
        ages.append(time.time() - frame.info.captured_at)
        delays.append(frame.info.captured_at - fired[len(delays)])

    up = threading.Event()
    settings = {"type": "genicam", "uri": ADDRESS, "genicam": {"pixel_format": "Mono8", "frame_rate": FPS}}
    source = GenicamSource(camera_config(settings, "topic"), source_context(answered, up))

    def trigger() -> None:
        fired.append(time.time())
        source.on_trigger("t", b"")

    try:
        source.start()
        if not up.wait(15):
            raise RuntimeError("the simulated camera did not connect")
        _fire(triggers, rate, trigger)
        deadline = time.monotonic() + 5
        while len(ages) < triggers and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        source.stop()
        camera.stop()
    return ages, delays


def _line(name: str, values: list[float], target_s: float | None = None) -> str:
    ms = np.asarray(values) * 1000
    text = (f"{name:<46} n={len(ms):<4} p50 {np.percentile(ms, 50):6.1f} ms  p99 {np.percentile(ms, 99):6.1f} ms"
            f"  max {ms.max():6.1f} ms")
    if target_s is not None:
        text += f"  p99/target {np.percentile(ms, 99) / (target_s * 1000):.2f}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="triggers per second")
    arguments = parser.parse_args()
    target_s = 1.0 / FPS + TARGET_MARGIN_S
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; camera {FPS:g} fps, "
          f"target p99 < {target_s * 1000:.0f} ms (one frame interval + 50 ms)")
    true_ages, read_ages, read_delays = rtsp_ages(arguments.triggers, arguments.rate)
    print(_line("rtsp: trigger - drawn capture time", true_ages, target_s))
    print(_line("rtsp: trigger - read time (the daemon metric)", read_ages))
    print(_line("rtsp: every frame, read time - drawn time", read_delays))
    ages, delays = genicam_ages(arguments.triggers, arguments.rate)
    print(_line("genicam: hand-on - exposure time", ages, target_s))
    print(_line("genicam: trigger -> exposure", delays))


if __name__ == "__main__":
    main()
