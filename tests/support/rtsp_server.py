"""A real RTSP server for tests and benchmarks: GStreamer's RTSP server (Debian packages) serving one
H.264 stream whose frames carry their capture time (support.frame_stamps).

Run as a process (``python tests/support/rtsp_server.py PORT``) so a test can kill, restart or freeze
(SIGSTOP) it; :class:`RtspServer` does that from a test. Prints ``ready`` once it listens.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.frame_stamps import stamp_frame  # noqa: E402

MOUNT = "/line"
WIDTH, HEIGHT = 320, 240


class RtspServer:
    """The server as a child process on a loopback port; ``url`` is the stream's address."""

    def __init__(self, port: int, fps: float = 25.0) -> None:
        self.port, self.fps = port, fps
        self.url = f"rtsp://127.0.0.1:{port}{MOUNT}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 20.0) -> RtspServer:
        self.process = subprocess.Popen([sys.executable, __file__, str(self.port), "--fps", str(self.fps)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout_s
        for line in self.process.stdout:
            if line.strip() == "ready":
                threading.Thread(target=self._drain, daemon=True).start()
                return self
            if time.monotonic() > deadline:
                break
        raise RuntimeError(f"rtsp server did not start (exit {self.process.poll()})")

    def _drain(self) -> None:
        for _ in self.process.stdout:
            pass

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing is sent or answered."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.kill()
            self.process.wait(10)


def _serve(port: int, fps: float) -> None:
    Gst.init(None)
    rate = max(1, round(fps))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( appsrc name=src is-live=true format=time do-timestamp=true "
        f"caps=video/x-raw,format=RGB,width={WIDTH},height={HEIGHT},framerate={rate}/1 "
        f"! videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast threads=1 key-int-max={rate} bitrate=2000 "
        f"! rtph264pay name=pay0 pt=96 config-interval=1 )")
    factory.set_shared(True)
    factory.set_latency(0)
    sources: list = []

    def configured(_factory, media) -> None:
        source = media.get_element().get_child_by_name("src")
        sources.append(source)
        media.connect("unprepared", lambda _media: sources.remove(source))

    factory.connect("media-configure", configured)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    server.get_mount_points().add_factory(MOUNT, factory)
    server.attach(None)
    threading.Thread(target=_feed, args=(sources, fps), daemon=True).start()
    print("ready", flush=True)
    GLib.MainLoop().run()


def _feed(sources: list, fps: float) -> None:
    """Push a freshly stamped frame to every prepared media at ``fps`` (a push refused while the media
    is still starting is not a reason to stop feeding it)."""
    interval = 1.0 / fps
    next_at = time.monotonic()
    while True:
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
        if not sources:
            continue
        frame = stamp_frame(WIDTH, HEIGHT, int(time.time() * 1000))
        buffer = Gst.Buffer.new_wrapped(frame.tobytes())
        for source in list(sources):
            source.emit("push-buffer", buffer)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--fps", type=float, default=25.0)
    arguments = parser.parse_args()
    _serve(arguments.port, arguments.fps)
