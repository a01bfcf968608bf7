"""Aravis' simulated GigE Vision camera (``arv-fake-gv-camera-0.8``, Debian's aravis-tools) on loopback.

It answers GVCP on 127.0.0.1:3956 and streams over UDP like a real camera; its buffer timestamps are
the host's wall clock at exposure, so a test can tell whether a frame was exposed after a trigger.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

FAKE_CAMERA = "arv-fake-gv-camera-0.8"
ADDRESS = "127.0.0.1"


def require_aravis() -> None:
    """Skip (naming what is missing) where Aravis, its simulator or PyGObject is not installed."""
    if shutil.which(FAKE_CAMERA) is None:
        pytest.skip(f"{FAKE_CAMERA} not installed (apt-get install aravis-tools; .ci/run does)")
    try:
        import gi

        gi.require_version("Aravis", "0.8")
    except (ImportError, ValueError) as error:
        pytest.skip(f"Aravis bindings missing ({error}): pip install -e '.[genicam]', apt-get install gir1.2-aravis-0.8")


class FakeCamera:
    """The simulator as a child process; ``stop`` and ``start`` make it vanish and come back."""

    def __init__(self, serial: str = "INSPECTD", lost_per_thousand: int = 0) -> None:
        """``lost_per_thousand``: stream packets the simulator drops, as on a congested link."""
        self.serial = serial
        self.lost_per_thousand = lost_per_thousand
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 10.0) -> FakeCamera:
        self.process = subprocess.Popen([FAKE_CAMERA, "-i", ADDRESS, "-s", self.serial,
                                         "-r", str(self.lost_per_thousand)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while subprocess.run(["arv-tool-0.8", "-a", ADDRESS, "control", "Width"], capture_output=True,
                             timeout=10).returncode != 0:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"{FAKE_CAMERA} did not answer on {ADDRESS} within {timeout_s}s")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
