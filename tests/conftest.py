"""Shared fixtures: a real mosquitto broker on loopback and the real evaluation images."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    config_path: Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if Path(p).exists()), None
    )
    if found is None:
        pytest.fail("mosquitto is not installed (.ci/run installs it with apt-get)")
    return found


def wait_for_port(host: str, port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s}s")


def start_mosquitto(workdir: Path, extra_config: str = "", port: int | None = None) -> tuple[subprocess.Popen, Broker]:
    """Start mosquitto on 127.0.0.1 with a generated config; returns the process and its address."""
    port = port or free_port()
    config_path = workdir / "mosquitto.conf"
    config_path.write_text(
        f"listener {port} 127.0.0.1\n"
        "persistence false\n"
        "log_dest stdout\n"
        "log_type error\nlog_type warning\n"
        + (extra_config or "allow_anonymous true\n")
    )
    log = open(workdir / "mosquitto.log", "ab")
    process = subprocess.Popen([_mosquitto_binary(), "-c", str(config_path)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port)
    except TimeoutError:
        process.kill()
        raise
    return process, Broker("127.0.0.1", port, config_path)


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A real, anonymous mosquitto broker on a free loopback port, stopped after the test."""
    process, broker = start_mosquitto(tmp_path_factory.mktemp("mosquitto"))
    try:
        yield broker
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real evaluation images: $INSPECTD_DATA, else ../shared/data beside the checkout."""
    candidates = [os.environ.get("INSPECTD_DATA"), REPO_ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "mvtec_ad" / "bottle").is_dir():
            return Path(candidate)
    pytest.fail(f"real evaluation images not found (tried {[c for c in candidates if c]}); set INSPECTD_DATA")
